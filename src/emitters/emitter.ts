import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * What happened to an event handed to an emitter: taken for delivery, dropped on purpose (counted by
 * reason), or refused because the sink failed.
 */
export type EmitOutcome = "accepted" | "dropped" | "failed";

/** Counters of one emitter. Every event handed over is in exactly one of emitted, dropped or failed. */
export interface EmitterStats {
  /** The emitter's name. */
  name: string;
  /** Events taken and written (or handed to the sink). */
  emitted: number;
  /** Events dropped on purpose, by reason (such as "closed"). */
  dropped: Record<string, number>;
  /** Events lost because the sink failed. */
  failed: number;
  /** For emitters that fan out: the stats of each sink. */
  sinks?: EmitterStats[];
}

/** Outcome of flushing or closing one sink. */
export interface FlushResult {
  emitter: string;
  status: "ok" | "error" | "timeout";
  /** Set when status is "error". */
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
  ok: boolean;
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
  emit(event: AuditEvent): EmitOutcome;
  flush(): Promise<FlushReport>;
  close(): Promise<FlushReport>;
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
 * Calls a user's onError hook; the hook itself must never break the caller.
 * @internal
 */
export function report(onError: ((error: Error) => void) | undefined, error: Error): void {
  if (onError === undefined) return;
  try {
    onError(error);
  } catch {
    // An onError hook that throws is ignored: reporting must never become a new failure.
  }
}
