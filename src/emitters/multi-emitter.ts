import { AuditConfigError, AuditEmitError, toError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import { report } from "../errors/report.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { checkName, checkOnError, checkOptionsObject } from "./check-options.js";
import { isEmitter } from "./create-emitter.js";
import type { EmitOutcome, Emitter, EmitterStats, FlushReport, FlushResult } from "./emitter.js";
import { checkedOutcome, EmitterCounters } from "./emitter.js";
import { guardedStats } from "./guarded-stats.js";

/** Options of `createMultiEmitter`. */
export interface MultiEmitterOptions {
  /** Name in stats and errors. Default: "multi". */
  name?: string;
  /**
   * How long `flush()` and `close()` wait for each sink before reporting it as "timeout", so one hung
   * sink cannot hold up the report of the others. A safety net for sinks that do not settle by
   * themselves: make it longer than the sinks' own timeouts, or their reports (`pending`) are lost and
   * a delivery emitter's `close()` is cut off before it spooled what it could not deliver. Default:
   * 35000, 5 s beyond the log and delivery emitters' default 30000 (a delivery emitter's close also
   * closes its sink and spool after its drain). A number of ms from 1 to 2^31 - 1 (the longest Node
   * timer).
   */
  flushTimeoutMs?: number;
  /** Called once per failure of a sink. Default: ignore (failures are still counted). */
  onError?: (error: Error) => void;
}

/** The option names of `MultiEmitterOptions`. */
const MULTI_OPTION_NAMES = Object.keys({ name: 1, flushTimeoutMs: 1, onError: 1 } satisfies Record<
  keyof MultiEmitterOptions,
  1
>);

/**
 * The default per-sink wait of a multi emitter: longer than the emitters' own default flush and close
 * timeouts (30000), so an emitter that keeps to its timeout reports itself, with what it left pending.
 * @internal
 */
export const MULTI_FLUSH_TIMEOUT_MS = 35_000;

const OUTCOME_RANK: Readonly<Record<EmitOutcome, number>> = { accepted: 0, dropped: 1, failed: 2 };

/**
 * An emitter that hands every event to each of its sinks. A sink that throws or hangs never stops or
 * delays the others: each `emit` runs in its own try/catch and `flush`/`close` settle every sink
 * independently, with a per-sink timeout. `emit` reports the worst outcome over the sinks (failed, then
 * dropped, then accepted), so fail-closed callers refuse an event that any sink did not take.
 */
export function createMultiEmitter(sinks: readonly Emitter[], options: MultiEmitterOptions = {}): Emitter {
  if (!Array.isArray(sinks) || sinks.length === 0) {
    throw new AuditConfigError("multi emitter: needs at least one sink");
  }
  // A sink that is not an emitter would fail every emit, and make stats() throw.
  const notEmitter = sinks.findIndex((sink) => !isEmitter(sink));
  if (notEmitter >= 0) {
    throw new AuditConfigError(
      `multi emitter: sinks[${notEmitter}] must be an Emitter (with name, emit, flush, close and stats)`,
    );
  }
  // The same emitter twice would take each event twice, and be flushed and closed twice.
  const again = sinks.findIndex((sink, i) => sinks.indexOf(sink) !== i);
  if (again >= 0) {
    throw new AuditConfigError(
      `multi emitter: sinks[${again}] is sinks[${sinks.indexOf(sinks[again] as Emitter)}] again: give each emitter once`,
    );
  }
  checkOptionsObject("multi emitter", options);
  rejectUnknownOptions("multi emitter", options, MULTI_OPTION_NAMES);
  checkName("multi emitter", options.name);
  checkOnError("multi emitter", options.onError);
  const flushTimeoutMs = checkTimerMs(
    "multi emitter: `flushTimeoutMs`",
    options.flushTimeoutMs ?? MULTI_FLUSH_TIMEOUT_MS,
    { integer: false },
  );
  const list = [...sinks];
  const counters = new EmitterCounters(options.name ?? "multi");
  const onError = options.onError;
  const sinkStats = list.map((sink) => guardedStats(sink, onError));
  let closed = false;

  function emitTo(sink: Emitter, event: AuditEvent): EmitOutcome {
    try {
      return checkedOutcome(sink.emit(event), sink.name, onError);
    } catch (error) {
      // Emitters promise never to throw; one that does is isolated and counted here.
      report(onError, new AuditEmitError(sink.name, "emit threw", { cause: toError(error) }));
      return "failed";
    }
  }

  async function settleAll(action: "flush" | "close"): Promise<FlushReport> {
    const reports = await Promise.all(list.map((sink) => settle(sink, action, flushTimeoutMs)));
    const results = reports.flatMap((r) => r.results);
    for (const result of results) {
      if (result.status !== "ok") {
        report(onError, result.error ?? new AuditEmitError(result.emitter, `${action} ${result.status}`));
      }
    }
    const ok = results.every((r) => r.status === "ok");
    const counted = results.filter((r) => r.pending !== undefined);
    if (counted.length === 0) return { ok, results };
    return { ok, results, pending: counted.reduce((sum, r) => sum + (r.pending ?? 0), 0) };
  }

  return {
    name: counters.name,
    emit(event) {
      if (closed) return counters.drop("closed");
      let worst: EmitOutcome = "accepted";
      for (const sink of list) {
        const outcome = emitTo(sink, event);
        if (OUTCOME_RANK[outcome] > OUTCOME_RANK[worst]) worst = outcome;
      }
      if (worst === "accepted") counters.emitted++;
      else if (worst === "failed") counters.failed++;
      else counters.drop("sink_dropped");
      return worst;
    },
    flush: () => settleAll("flush"),
    close() {
      closed = true;
      return settleAll("close");
    },
    stats(): EmitterStats {
      return { ...counters.snapshot(), sinks: sinkStats.map((stats) => stats()) };
    },
  };
}

/** Runs flush or close on one sink, turning a throw, a rejection or a hang into a FlushResult. */
async function settle(sink: Emitter, action: "flush" | "close", timeoutMs: number): Promise<FlushReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<FlushReport>((resolve) => {
    timer = setTimeout(() => resolve(failed(sink, "timeout")), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve().then(() => sink[action]()), timeout]);
  } catch (error) {
    return failed(
      sink,
      "error",
      new AuditEmitError(sink.name, `${action} failed`, { cause: toError(error) }),
    );
  } finally {
    clearTimeout(timer);
  }
}

function failed(sink: Emitter, status: FlushResult["status"], error?: Error): FlushReport {
  const result: FlushResult =
    error === undefined ? { emitter: sink.name, status } : { emitter: sink.name, status, error };
  return { ok: false, results: [result] };
}
