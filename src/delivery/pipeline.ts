import { type EmitOutcome, type FlushReport, type FlushResult, flushReport } from "../emitters/emitter.js";
import { AuditEmitError, toError } from "../errors/index.js";
import { MAX_TIMER_MS } from "../errors/option-checks.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { DeliveryState } from "./delivery-state.js";
import type { DeliveryStats } from "./delivery-stats.js";
import { intake } from "./intake.js";
import { monotonicNow } from "./monotonic-now.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import { Pump } from "./pump.js";
import { TimeoutError, withTimeout } from "./wakeup.js";

/** What the delivery emitter's `flush()` resolves to: `pending` is always set. */
export interface DeliveryFlushReport extends FlushReport {
  /**
   * Events accepted before the call that the sink had not taken when it returned: in memory, or in
   * the spool. 0 when ok.
   */
  pending: number;
}

/** What `close()` resolves to: the FlushReport fields plus what became of the events it had to drain. */
export interface DeliveryCloseReport extends DeliveryFlushReport {
  /** Events the sink acknowledged during close. */
  delivered: number;
  /** Events committed to the spool during close (replayed by the next emitter on the same file). */
  spooled: number;
  /** Accepted events dropped during close (no spool, or the spool was full). */
  dropped: number;
  // `pending`, after close: the rows left in the spool file, replayed by the next emitter on it.
}

/**
 * The delivery pipeline behind `createDeliveryEmitter`: the emit path (intake.ts), the pump that
 * writes batches (pump.ts), the group commit timer of the spool, and flush, close and stats.
 * @internal
 */
export class DeliveryPipeline {
  readonly #state: DeliveryState;
  readonly #pump: Pump;
  readonly #commitTimer: NodeJS.Timeout | undefined;
  #closing: Promise<DeliveryCloseReport> | undefined;

  constructor(options: ResolvedDeliveryOptions) {
    const state = new DeliveryState(options);
    this.#state = state;
    if (state.spool !== undefined && options.spool !== undefined) {
      this.#commitTimer = setInterval(() => state.commitTick(), options.spool.commitIntervalMs);
      this.#commitTimer.unref();
    }
    this.#pump = new Pump(state);
  }

  emit(event: AuditEvent): EmitOutcome {
    return intake(this.#state, event);
  }

  async flush(timeout = this.#state.options.flushTimeoutMs): Promise<DeliveryFlushReport> {
    // A longer timer would fire at once: ~24.8 days is as good as any longer wait.
    const timeoutMs = Math.min(timeout, MAX_TIMER_MS);
    const state = this.#state;
    const { name } = state.options;
    const target = state.lastSeq;
    const errorsBefore = this.#pump.sinkErrors;
    state.beginUrgent();
    try {
      state.wakeup.wake();
      state.commitTick();
      if (await state.waitSettled(target, timeoutMs)) return withPending(flushReport(name), 0);
    } finally {
      state.endUrgent();
    }
    const pending = state.pendingUpTo(target);
    if (this.#pump.sinkErrors === errorsBefore) {
      return { ok: false, results: [{ emitter: name, status: "timeout", pending }], pending };
    }
    const message = `flush did not finish within ${timeoutMs} ms: the sink is failing`;
    const error = new AuditEmitError(name, message, { cause: this.#pump.lastSinkError });
    return withPending(flushReport(name, error), pending);
  }

  close(timeoutMs = this.#state.options.closeTimeoutMs): Promise<DeliveryCloseReport> {
    this.#closing ??= this.#close(Math.min(timeoutMs, MAX_TIMER_MS));
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<DeliveryCloseReport> {
    const state = this.#state;
    const { counters } = state;
    state.markClosed();
    const before = { delivered: counters.delivered, spooled: counters.spooled, lost: counters.lost };
    const deadline = monotonicNow() + timeoutMs;
    const target = state.lastSeq;
    state.beginUrgent();
    state.wakeup.wake();
    state.commitTick();
    await state.waitSettled(target, timeoutMs);
    // Take no new batch, let the ones being written finish until the deadline, then abort them.
    this.#pump.finish();
    await withTimeout(this.#pump.done, deadline - monotonicNow(), { keepAlive: true }).catch(() => {});
    this.#pump.stop();
    await this.#pump.done;
    clearInterval(this.#commitTimer);
    // What is left goes to the spool file (or is dropped): the next emitter on it replays it.
    const pending = state.finishClose();
    // No later report would tell onError of the drops held back by warnIntervalMs: tell it now.
    state.warnings.flush();
    const sink = await this.#closeSink(Math.max(deadline - monotonicNow(), Math.min(1000, timeoutMs)));
    const dropped = counters.lost - before.lost;
    // Events dropped or left in the spool mean the drain did not finish in time.
    const result: FlushResult =
      sink.status === "ok" && (dropped > 0 || pending > 0)
        ? { emitter: sink.emitter, status: "timeout" }
        : sink;
    return {
      ok: result.status === "ok",
      results: [{ ...result, pending }],
      pending,
      delivered: counters.delivered - before.delivered,
      spooled: counters.spooled - before.spooled,
      dropped,
    };
  }

  async #closeSink(timeoutMs: number): Promise<FlushResult> {
    const { sink, name } = this.#state.options;
    if (typeof sink.close !== "function") return { emitter: name, status: "ok" };
    try {
      await withTimeout(
        Promise.resolve().then(() => sink.close?.()),
        timeoutMs,
        { keepAlive: true },
      );
      return { emitter: name, status: "ok" };
    } catch (error) {
      if (error instanceof TimeoutError) return { emitter: name, status: "timeout" };
      const cause = toError(error);
      return {
        emitter: name,
        status: "error",
        error: new AuditEmitError(name, "sink close failed", { cause }),
      };
    }
  }

  stats(): DeliveryStats {
    const { counters: c, spool } = this.#state;
    const memory = this.#state.memory();
    return {
      ...c.snapshot(),
      accepted: c.emitted,
      droppedAfterAccept: c.lost,
      delivered: c.delivered,
      replayed: c.replayed,
      retried: c.retried,
      spooled: c.spooled,
      droppedByKind: { ...c.droppedByKind },
      droppedByReasonAndKind: Object.fromEntries(
        Object.entries(c.droppedByReasonAndKind).map(([reason, byKind]) => [reason, { ...byKind }]),
      ),
      queueEvents: memory.events,
      queueBytes: memory.bytes,
      parkedEvents: memory.parked,
      spoolEvents: spool === undefined ? 0 : spool.rows + spool.pendingRows,
      spoolBytes: spool?.bytes ?? 0,
      spoolUndeleted: spool?.undeletedRows ?? 0,
      mode: this.#state.fromSpool() ? "spool" : "direct",
      spoolRecovery: { ...c.spoolRecovery },
    };
  }
}

/** A one-sink report with `pending` on the report and on its result. */
function withPending(report: FlushReport, pending: number): DeliveryFlushReport {
  return { ...report, results: report.results.map((result) => ({ ...result, pending })), pending };
}
