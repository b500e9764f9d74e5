// What Recorder.close() adds to its emitters' close report: its own failures and what its flushes saw.
import type { EmitterStats, FlushReport, FlushResult } from "../emitters/emitter.js";
import { AuditError } from "../errors/index.js";

/** Why `close()` ended with records of calls in flight still to come. */
export function givenUpError(count: number, closeWaitMs: number): AuditError {
  const records = count === 1 ? "1 record" : `${count} records`;
  return new AuditError(
    `recorder: close() stopped waiting for ${records} of calls still in flight after closeWaitMs (${closeWaitMs} ms); ` +
      "arriving later, they are dropped and counted in stats().dropped. Shut the server down before close(), or raise closeWaitMs",
  );
}

/** Why a record call made after `close()` sealed the trail was dropped (reported for the first only). */
export function droppedAfterCloseError(): AuditError {
  return new AuditError(
    "recorder: a record call after close() was dropped (counted in stats().dropped; later ones are counted, not reported). " +
      "Shut the server down before close(), or raise closeWaitMs for calls still in flight",
  );
}

/** The pause between flushes while the final checkpoint is refused (see close). */
export const RETRY_PAUSE_MS = 50;

/**
 * Why the trail of this close() ends without its final checkpoint: an emitter closed before the
 * Recorder (`closedFirst`, the usual cause: closing the emitter yourself), or a queue that stayed full.
 */
export function finalCheckpointDroppedError(closeWaitMs: number, closedFirst: boolean): AuditError {
  const why = closedFirst
    ? "an emitter was closed before the Recorder (close the Recorder: it closes its emitters after its final checkpoint)"
    : `their queue still full after closeWaitMs (${closeWaitMs} ms) of flushes`;
  return new AuditError(
    `recorder: the emitters dropped the final chain checkpoint, ${why}; verify --sealed will report the chain as truncated`,
  );
}

/**
 * Events an emitter (and, for a fan-out emitter, its sinks) dropped because it was closed; 0 where
 * stats of an emitter of yours lack the count.
 */
export function droppedClosed(stats: EmitterStats): number {
  const closed: unknown = stats?.dropped?.closed;
  let count = typeof closed === "number" ? closed : 0;
  if (Array.isArray(stats?.sinks)) for (const sink of stats.sinks) count += droppedClosed(sink);
  return count;
}

/**
 * The close `report` with the drops the `flushes` close() made before it named (in their errors):
 * those events are gone. A flush that only ran out of time says nothing the close does not: the
 * close drained on, and its own result says what it left. An emitter's result with drops becomes
 * "error" when it was ok, keeping its own status otherwise, with their errors and its own (one
 * AggregateError for several); the result of an emitter the close report does not name is added.
 */
export function withFlushes(report: FlushReport, flushes: readonly FlushReport[]): FlushReport {
  const failed = flushes
    .flatMap((flush) => flush.results)
    .filter((result) => result.status !== "ok" && result.error !== undefined);
  if (failed.length === 0) return report;
  const results = report.results.map((result): FlushResult => {
    const before = failed.filter((flushed) => flushed.emitter === result.emitter);
    if (before.length === 0) return result;
    const status = result.status === "ok" ? "error" : result.status;
    const errors = [...before, result].flatMap((r) => (r.error === undefined ? [] : [r.error]));
    const error =
      errors.length > 1 ? new AggregateError(errors, errors.map((e) => e.message).join("; ")) : errors[0];
    return { ...result, status, error };
  });
  const unnamed = failed.filter((flushed) => !report.results.some((r) => r.emitter === flushed.emitter));
  return { ...report, ok: false, results: [...results, ...unnamed] };
}

/** `report` with one more result, a failure of the Recorder's own: not ok. */
export function withRecorderResult(report: FlushReport, result: FlushResult): FlushReport {
  return { ...report, ok: false, results: [...report.results, result] };
}

/** `report` with a "recorder" result: not ok, `count` records of calls in flight given up. */
export function withGivenUp(report: FlushReport, count: number): FlushReport {
  return {
    ok: false,
    results: [...report.results, { emitter: "recorder", status: "timeout", pending: count }],
    pending: (report.pending ?? 0) + count,
  };
}
