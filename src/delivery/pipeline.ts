import { type EmitOutcome, type FlushReport, type FlushResult, flushReport } from "../emitters/emitter.js";
import { offExit, onExit } from "../emitters/exit-hooks.js";
import { AuditEmitError, toError } from "../errors/index.js";
import { MAX_TIMER_MS } from "../errors/option-checks.js";
import { report } from "../errors/report.js";
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

/**
 * What `close()` resolves to: the FlushReport fields plus what became of the events it had to drain.
 * Its one result's status is "ok" when every event was delivered; "timeout" when the drain did not
 * finish within the close timeout (what it left is in `pending`, or dropped: "close_timeout", or
 * "spool_full" when the spool had no room), or the sink's close did not; "error" when the drain
 * finished in time but dropped events for reasons a longer timeout would not fix (the error names
 * each reason and count, such as "too_large"), or the sink's close failed. The error names the drops
 * on a "timeout" too, and what the drain did before a failed sink close (the sink's error its cause).
 */
export interface DeliveryCloseReport extends DeliveryFlushReport {
  /** Events the sink acknowledged during close. */
  delivered: number;
  /** Events committed to the spool during close (replayed by the next emitter on the same file). */
  spooled: number;
  /**
   * Accepted events dropped during close: left at the timeout without a spool or with a full one, or
   * refused by the sink for good while it drained (such as "too_large").
   */
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
    // Held weakly (an emitter nobody holds is no reason to stay), by the state, which the pump and
    // the timers hold while events wait: main returning, or process.exit(), must not lose them unseen.
    onExit(state, finishAtExit);
  }

  emit(event: AuditEvent): EmitOutcome {
    return intake(this.#state, event);
  }

  async flush(timeout = this.#state.options.flushTimeoutMs): Promise<DeliveryFlushReport> {
    // A longer timer would fire at once: ~24.8 days is as good as any longer wait.
    const timeoutMs = Math.min(timeout, MAX_TIMER_MS);
    const state = this.#state;
    const { name } = state.options;
    const { counters } = state;
    const target = state.lastSeq;
    const errorsBefore = this.#pump.sinkErrors;
    const lostBefore = counters.lost;
    const lostByReasonBefore = { ...counters.lostByReason };
    let settled: boolean;
    state.beginUrgent();
    try {
      state.wakeup.wake();
      state.commitTick();
      settled = await state.waitSettled(target, timeoutMs);
    } finally {
      state.endUrgent();
    }
    // Accepted events dropped for good while it waited: an ok would say they were written.
    const drops =
      counters.lost > lostBefore ? droppedDuring(lostByReasonBefore, counters.lostByReason) : undefined;
    if (settled) {
      const error = drops === undefined ? undefined : new AuditEmitError(name, `flush ${drops}`);
      return withPending(flushReport(name, error), 0);
    }
    const pending = state.pendingUpTo(target);
    const late = `flush did not finish within ${timeoutMs} ms`;
    const alsoDropped = drops === undefined ? "" : `; it ${drops}`;
    if (this.#pump.sinkErrors === errorsBefore) {
      const result: FlushResult = { emitter: name, status: "timeout", pending };
      if (drops !== undefined) result.error = new AuditEmitError(name, `${late}${alsoDropped}`);
      return { ok: false, results: [result], pending };
    }
    const message = `${late}: the sink is failing${alsoDropped}`;
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
    const lostByReasonBefore = { ...counters.lostByReason };
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
    const lostInDrain = counters.lost;
    const pending = state.finishClose();
    offExit(state);
    // Only the deadline leaves events for finishClose: the drain did not finish in time.
    const leftAtDeadline = pending + counters.lost - lostInDrain;
    // No later report would tell onError of the drops held back by warnIntervalMs: tell it now.
    state.warnings.flush();
    const sink = await this.#closeSink(Math.max(deadline - monotonicNow(), Math.min(1000, timeoutMs)));
    const dropped = counters.lost - before.lost;
    const drops = dropped > 0 ? droppedDuring(lostByReasonBefore, counters.lostByReason) : undefined;
    const result = closeResult(state.options.name, sink, leftAtDeadline > 0, drops);
    return {
      ok: result.status === "ok",
      results: [{ ...result, pending }],
      pending,
      delivered: counters.delivered - before.delivered,
      spooled: counters.spooled - before.spooled,
      dropped,
    };
  }

  /** Closes the sink: "ok", "timeout" when it did not finish within `timeoutMs`, or why it failed. */
  async #closeSink(timeoutMs: number): Promise<"ok" | "timeout" | Error> {
    const { sink } = this.#state.options;
    if (typeof sink.close !== "function") return "ok";
    try {
      await withTimeout(
        Promise.resolve().then(() => sink.close?.()),
        timeoutMs,
        { keepAlive: true },
      );
      return "ok";
    } catch (error) {
      return error instanceof TimeoutError ? "timeout" : toError(error);
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

/**
 * The process exits without close() (main returned, process.exit()): only synchronous work runs now.
 * What memory holds (queued, parked, in the batches being written) is committed to the spool, replayed
 * by the next emitter on the file; without a spool, or when that commit fails, it is dropped as
 * "exit" and reported to onError at once, with the drops warnIntervalMs held back. The sink is not
 * closed. A batch being written may have reached the sink: spooled, it is written again.
 */
function finishAtExit(state: DeliveryState): void {
  try {
    const { dropped, error } = state.finishAtExit();
    state.warnings.flush();
    if (dropped > 0) state.warnings.note("exit", error, dropped);
  } catch (error) {
    // Never throw in an "exit" listener: the process would end with this error instead.
    const { name, onError } = state.options;
    report(
      onError,
      new AuditEmitError(name, "could not keep the undelivered events at exit", { cause: toError(error) }),
    );
  }
}

/** A one-sink report with `pending` on the report and on its result. */
function withPending(report: FlushReport, pending: number): DeliveryFlushReport {
  return { ...report, results: report.results.map((result) => ({ ...result, pending })), pending };
}

/**
 * "dropped 2 events (too_large 1, spool_corrupt 1)": the accepted events dropped since `before`, by
 * reason (counters.lostByReason: events emit refused were never accepted, and are not named).
 */
function droppedDuring(before: Record<string, number>, after: Record<string, number>): string {
  const reasons = Object.entries(after)
    .map(([reason, count]) => [reason, count - (before[reason] ?? 0)] as const)
    .filter(([, count]) => count > 0);
  const total = reasons.reduce((sum, [, count]) => sum + count, 0);
  const events = total === 1 ? "1 event" : `${total} events`;
  return `dropped ${events} (${reasons.map(([reason, count]) => `${reason} ${count}`).join(", ")})`;
}

/**
 * The result of a close, from how the sink's close went, whether the drain ran out of time and what
 * it dropped ("dropped 2 events (close_timeout 2)"). Status "error" when the sink's close failed;
 * "timeout" when the drain ran out of time or the sink's close did; "error" when the drain finished
 * in time but dropped events (a longer timeout would not save them). The error names what the drain
 * did whenever it dropped events, before a failed sink close, which would hide the drops otherwise.
 */
function closeResult(
  emitter: string,
  sink: "ok" | "timeout" | Error,
  ranOutOfTime: boolean,
  drops: string | undefined,
): FlushResult {
  // What the drain did: "ran out of time, dropped 2 events (close_timeout 2)"; "" when all in time.
  const drain = [ranOutOfTime ? "ran out of time" : undefined, drops].filter(Boolean).join(", ");
  if (sink instanceof Error) {
    const message = drain === "" ? "sink close failed" : `close ${drain}; sink close failed`;
    return { emitter, status: "error", error: new AuditEmitError(emitter, message, { cause: sink }) };
  }
  const status = sink === "timeout" || ranOutOfTime ? "timeout" : drops ? "error" : "ok";
  if (drops === undefined) return { emitter, status };
  const sinkLate = sink === "timeout" ? "; the sink's close did not finish in time" : "";
  return { emitter, status, error: new AuditEmitError(emitter, `close ${drain}${sinkLate}`) };
}
