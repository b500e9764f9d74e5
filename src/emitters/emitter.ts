import { AuditEmitError } from "../errors/index.js";
import { report } from "../errors/report.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * What happened to an event handed to an emitter: taken for delivery, dropped on purpose (counted by
 * reason), or refused because the sink failed.
 */
export type EmitOutcome = "accepted" | "dropped" | "failed";

/**
 * Counters of one emitter. Every `emit` is counted once, by what it returned: in emitted ("accepted"),
 * dropped ("dropped", by reason) or failed ("failed"). Counters never go down.
 *
 * An emitter that still holds events after `emit` accepted them can lose some later; it counts such a
 * loss again, so `emitted + dropped + failed` exceeds the events handed over by those losses: the
 * delivery emitter counts each accepted event it drops later in `dropped` under its reason (and in its
 * `droppedAfterAccept`, to take them out again); a log emitter writing asynchronously counts the
 * events it held and gave up when `close()` failed in `dropped` (`destination_failed`).
 */
export interface EmitterStats {
  /** The emitter's name. */
  name: string;
  /** Events `emit` accepted: written, or taken for delivery (see `dropped` for what is lost later). */
  emitted: number;
  /** Events dropped on purpose, by reason (such as "closed"): at `emit`, or after it (see above). */
  dropped: Record<string, number>;
  /** Events `emit` refused because the sink failed; for some emitters, also writes that failed later. */
  failed: number;
  /** For emitters that fan out: the stats of each sink. */
  sinks?: EmitterStats[];
}

/** Outcome of flushing or closing one sink. */
export interface FlushResult {
  /**
   * Name of the emitter (the sink) this result is about; "recorder" for the records of calls in flight a
   * Recorder's `close()` stopped waiting for (status "timeout", `pending` counting them).
   */
  emitter: string;
  /**
   * "ok": every accepted event was written; "error": the sink failed, or refused events for good
   * (such as one too large for it; see `error`); "timeout": not done within the emitter's flush or
   * close timeout (see `pending`).
   */
  status: "ok" | "error" | "timeout";
  /**
   * Set when status is "error"; on a "timeout", set when events were dropped for good meanwhile,
   * naming them by reason and count.
   */
  error?: Error;
  /**
   * Events the emitter accepted and its sink has not taken yet when the report was made (in memory,
   * or in a spool file that the next emitter on it replays). Set by emitters that hold events, such
   * as the delivery emitter; absent means the emitter holds none, except on a log emitter's "timeout"
   * from a destination whose backlog cannot be read (a pino transport, a stream of yours).
   *
   * A log emitter counts lines not yet written, a line written in part included. Exact for a file or
   * descriptor it opens, except that a write the OS took in part and has not returned from (a
   * blocking pipe that is full) counts whole: then an upper bound, by up to the lines of that one
   * write. For a `logger` on a pino.destination (or a multistream of them) it counts every line
   * waiting there, the logger's other lines too: an upper bound.
   */
  pending?: number;
}

/**
 * Outcome of `flush()` or `close()`: ok when every sink reported ok; never ok while events are
 * pending at the timeout.
 */
export interface FlushReport {
  /** True when every result's status is "ok". */
  ok: boolean;
  /** One result per sink: one for a plain emitter, one per sink of a multi emitter. */
  results: FlushResult[];
  /** The sum of the results' `pending`, set when any result has it. */
  pending?: number;
}

/**
 * A sink for audit events.
 *
 * `emit` is a synchronous hand-off: it never awaits I/O and never throws; its outcome is counted in
 * `stats()`. `flush()` and `close()` resolve once every accepted event has been written, or at their
 * timeout with `ok: false` and what is still pending; they report failures instead of rejecting. After
 * `close()`, `emit` drops and counts the event as "closed".
 */
export interface Emitter {
  /** Names the emitter in stats and errors. */
  readonly name: string;
  /**
   * Hands one event over without waiting: "accepted" when taken for delivery, "dropped" when dropped
   * on purpose (counted by reason), "failed" when the sink failed. Never throws.
   */
  emit(event: AuditEvent): EmitOutcome;
  /**
   * Resolves once every event accepted before the call has been written, or at the emitter's timeout
   * with ok: false and what is still pending. Never rejects: failures are in the report.
   */
  flush(): Promise<FlushReport>;
  /**
   * Writes out what was accepted, as `flush` does, then closes the sink; later `emit` calls drop the
   * event as "closed". Never rejects.
   */
  close(): Promise<FlushReport>;
  /** A copy of the emitter's counters. */
  stats(): EmitterStats;
}

/** Builds a one-sink FlushReport. */
export function flushReport(emitter: string, error?: Error): FlushReport {
  const result: FlushResult =
    error === undefined ? { emitter, status: "ok" } : { emitter, status: "error", error };
  return { ok: error === undefined, results: [result] };
}

/**
 * Counters an emitter keeps; `stats()` returns a copy.
 * @internal
 */
export class EmitterCounters {
  emitted = 0;
  failed = 0;
  readonly dropped: Record<string, number> = {};

  constructor(readonly name: string) {}

  drop(reason: string): "dropped" {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    return "dropped";
  }

  snapshot(): EmitterStats {
    return { name: this.name, emitted: this.emitted, dropped: { ...this.dropped }, failed: this.failed };
  }
}

/**
 * What an emitter's `emit` returned, when it is an EmitOutcome; else "failed", reported to `onError`:
 * an emitter written outside the contract (returning nothing, or another word) must not leave its
 * event uncounted.
 * @internal
 */
export function checkedOutcome(
  outcome: unknown,
  emitterName: string,
  onError: ((error: Error) => void) | undefined,
): EmitOutcome {
  if (outcome === "accepted" || outcome === "dropped" || outcome === "failed") return outcome;
  const what = typeof outcome === "string" ? JSON.stringify(outcome.slice(0, 40)) : typeof outcome;
  report(
    onError,
    new AuditEmitError(emitterName, `emit returned ${what}, not "accepted", "dropped" or "failed"`),
  );
  return "failed";
}
