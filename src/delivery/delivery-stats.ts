import { EmitterCounters, type EmitterStats } from "../emitters/emitter.js";
import { AuditEmitError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";
import { KIND_NAMES } from "../event/kinds.js";
import { monotonicNow } from "./monotonic-now.js";
import type { Salvage } from "./spool-schema.js";

/**
 * Counters of a delivery emitter: a plain snapshot, safe to serialise.
 *
 * `emitted` (equal to `accepted`), `dropped` (by reason) and `failed` are the Emitter fields: every
 * event handed to `emit` is accepted, dropped at once ("too_large", "queue_full", "parked_full",
 * "spool_full", "spool_error", "closed") or failed ("fail-rpc", an event that cannot be encoded). An accepted event
 * later ends up delivered, in the spool, or dropped after all. A later drop stays counted in
 * `emitted` and is counted in `dropped` too (and in `droppedAfterAccept`), so that `dropped` counts
 * every event not delivered and no counter goes down; every event handed to `emit` is in
 * `emitted + (sum of dropped - droppedAfterAccept) + failed` once. The reasons of later drops:
 * "queue_full" when evicted by "drop-oldest", "too_large" when the sink can no longer take it
 * (replayed from a spool left by a process whose sink took more, refused after the broker's limit
 * shrank, or refused by the sink's write), "refused" when the sink's write refused it for good for
 * another reason (an AuditEventRefusedError: a store holds another event under its id),
 * "park_timeout", "close_timeout", "exit" when the process exits without close() and no spool keeps
 * the event (see createDeliveryEmitter), "spool_full" when close finds the spool full (maxBytes, or its last commit failed on a full disk), "spool_error" when close
 * cannot commit for another reason, "spool_corrupt" for a spooled event
 * that cannot be decoded, "spool_damaged" for rows of a damaged spool file that could not be read
 * (and the undelivered rows of a spool of a newer schema version, which is not read),
 * "spool_deleted" for rows of a spool file deleted or replaced while in use that could not be copied
 * to a new file (both counted under "unspecified" by kind).
 */
export interface DeliveryStats extends EmitterStats {
  /** Events emit took. */
  accepted: number;
  /**
   * Accepted events dropped later, each also in `dropped` under its reason (so `dropped` counts every
   * event not delivered, and never goes down): evicted, timed out while parked, too large for the sink
   * after all, left over at close, or rows of a damaged spool file (accepted by an earlier emitter on
   * it). `sum of dropped - droppedAfterAccept` is what emit refused.
   */
  droppedAfterAccept: number;
  /** Events the sink acknowledged (an event replayed after a crash may be counted again). */
  delivered: number;
  /** The part of `delivered` that was replayed from the spool. */
  replayed: number;
  /** Batch writes repeated after the sink failed. */
  retried: number;
  /** Events committed to the spool. */
  spooled: number;
  /** Drops by event kind ("authz.decision", ..., "unspecified"); sums to the same total as `dropped`. */
  droppedByKind: Record<string, number>;
  /** Drops by reason, then by event kind: `dropped` and `droppedByKind` crossed (for metrics). */
  droppedByReasonAndKind: Record<string, Record<string, number>>;
  /** Events held in memory: queued, or in the batches being written. */
  queueEvents: number;
  /** Encoded bytes of `queueEvents`. */
  queueBytes: number;
  /** Events of the "park" policy waiting for queue space. */
  parkedEvents: number;
  /**
   * Events in the spool, committed or waiting for the next commit; not the rows delivered whose delete
   * SQLite refused (they stay in the file until a delete succeeds).
   */
  spoolEvents: number;
  /** Encoded bytes of the committed spool rows (the rows delivered but not yet deleted included: the file holds them). */
  spoolBytes: number;
  /**
   * Spool rows delivered whose delete SQLite refused (a full disk, a read-only file, a lock held
   * elsewhere): still in the file, never sent again by this emitter, deleted once a delete succeeds.
   * 0 without a spool.
   */
  spoolUndeleted: number;
  /** "direct": batches come from memory; "spool": from the spool (write-ahead, outage or replay). */
  mode: "direct" | "spool";
  /** Unusable spool files moved aside (at start or later), and what became of their rows. */
  spoolRecovery: SpoolRecoveryStats;
}

/** What the delivery emitter did with spool files it could not use. */
export interface SpoolRecoveryStats {
  /** Files moved aside to `<path>.corrupt-<time>`: not a spool, or damaged. */
  movedAside: number;
  /** Rows read from damaged files and replayed. */
  recovered: number;
  /**
   * Rows of damaged files that could not be read, and undelivered rows of files of a newer schema
   * version (not read: a newer version delivers them); also counted in `dropped.spool_damaged`.
   */
  lost: number;
  /** Damaged files whose lost rows could not be counted (a -wal that is not a WAL, an unreadable count). */
  uncounted: number;
}

/**
 * The counters a delivery emitter keeps.
 * @internal
 */
export class DeliveryCounters extends EmitterCounters {
  delivered = 0;
  replayed = 0;
  retried = 0;
  spooled = 0;
  /** Accepted events that were dropped later (part of `dropped`). */
  lost = 0;
  /** `lost` by reason: what flush and close name, leaving out what emit refused (never accepted). */
  readonly lostByReason: Record<string, number> = {};
  readonly droppedByKind: Record<string, number> = {};
  readonly droppedByReasonAndKind: Record<string, Record<string, number>> = {};
  readonly spoolRecovery: SpoolRecoveryStats = { movedAside: 0, recovered: 0, lost: 0, uncounted: 0 };

  /** Counts a spool file moved aside, and the rows saved from it or lost with it. */
  spoolMovedAside(salvage: Salvage | undefined): void {
    const recovery = this.spoolRecovery;
    recovery.movedAside++;
    if (salvage === undefined) return;
    recovery.recovered += salvage.recovered;
    if (salvage.lost === undefined) recovery.uncounted++;
    else recovery.lost += salvage.lost;
    for (let i = 0; i < (salvage.lost ?? 0); i++) this.dropEvent("spool_damaged", 0, true);
  }

  /** Counts one dropped event of kind index `kind`; `accepted` when emit had taken it. */
  dropEvent(reason: string, kind: number, accepted: boolean): "dropped" {
    const name = KIND_NAMES[kind] ?? "unspecified";
    this.droppedByKind[name] = (this.droppedByKind[name] ?? 0) + 1;
    const byKind = this.droppedByReasonAndKind[reason] ?? {};
    byKind[name] = (byKind[name] ?? 0) + 1;
    this.droppedByReasonAndKind[reason] = byKind;
    if (accepted) {
      this.lost++;
      this.lostByReason[reason] = (this.lostByReason[reason] ?? 0) + 1;
    }
    return this.drop(reason);
  }
}

const REASONS: Readonly<Record<string, string>> = {
  too_large: "larger than maxEventBytes or than the sink takes",
  refused: "the sink refused it for good (its error says why)",
  queue_full: "the queue is full",
  parked_full: "the queue is full and so is the list of parked events",
  park_timeout: "no queue space within park.timeoutMs",
  spool_full: "the spool is full",
  spool_corrupt: "a spooled event could not be decoded",
  spool_damaged: "a damaged spool file (or one of a newer version) could not be read",
  spool_deleted: "the spool file was deleted or replaced while in use and its rows could not be copied",
  spool_error: "the spool could not commit it (read-only, busy, I/O error)",
  close_timeout: "close() timed out before the event was delivered",
  exit: "the process exited without close() before the event was delivered or spooled",
};

/** The drops the sink itself refused, reported with its message: the note's name, and the drop reason. */
const SINK_REFUSALS: Readonly<Record<string, string>> = {
  sink_too_large: "too_large",
  sink_refused: "refused",
};

/** Spool operations SQLite refused without damage: the operation, and what the emitter does meanwhile. */
const SPOOL_FAILURES: Readonly<Record<string, readonly [string, string]>> = {
  spool_commit: ["commit", "delivering from memory until it can commit again"],
  spool_commit_write_ahead: [
    "commit",
    "write-ahead: emit refuses the events it cannot commit until it can commit again",
  ],
  spool_read: ["read", "retrying"],
  spool_delete: [
    "delete",
    "the rows the sink took stay in the file, are not sent again, and are deleted once SQLite allows it",
  ],
};

/**
 * Reports drops and failures through onError at most once per reason per interval, with the count of
 * what happened since the last report: an overflow must not turn into a flood of warnings.
 * @internal
 */
export class Warnings {
  readonly #last = new Map<string, { at: number; suppressed: number; cause: unknown }>();

  /** `spoolPath` names the spool in reports of its failed commits. */
  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly onError: ((error: Error) => void) | undefined,
    private readonly spoolPath?: string,
  ) {}

  /**
   * Notes `events` drops (or, for "spool_commit", "spool_commit_write_ahead", "spool_read",
   * "spool_delete", "fail_rpc" and "unencodable", failures) and reports them when due. Sink failures have their own reports (sink-reports.ts).
   * "sink_too_large" is a "too_large" drop the sink itself refused (an AuditEventTooLargeError, the
   * `cause`): its own message says which limit, so it is reported apart from the drops at emit;
   * "sink_refused", a "refused" drop (an AuditEventRefusedError), whose message says why.
   */
  note(reason: string, cause?: unknown, events = 1): void {
    if (this.onError === undefined) return;
    const now = monotonicNow();
    const last = this.#last.get(reason);
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed += events;
      last.cause = cause;
      return;
    }
    const count = (last?.suppressed ?? 0) + events;
    this.#last.set(reason, { at: now, suppressed: 0, cause: undefined });
    report(this.onError, this.#error(reason, count, cause));
  }

  /**
   * Reports what was held back since the last report of each reason: close() calls it, as no later
   * report would carry those counts. Spool failures are left out: nothing is retried any more.
   */
  flush(): void {
    for (const [reason, last] of this.#last) {
      if (last.suppressed === 0 || SPOOL_FAILURES[reason] !== undefined) continue;
      const { suppressed, cause } = last;
      this.#last.set(reason, { at: monotonicNow(), suppressed: 0, cause: undefined });
      report(this.onError, this.#error(reason, suppressed, cause));
    }
  }

  #error(reason: string, count: number, cause: unknown): AuditEmitError {
    const events = count === 1 ? "1 event" : `${count} events`;
    const options = cause === undefined ? undefined : { cause: toError(cause) };
    const sinkRefusal = SINK_REFUSALS[reason];
    if (sinkRefusal !== undefined && cause !== undefined) {
      // The sink's message names the limit (a stream's max_msg_size, a server's max_payload, a topic's
      // max.message.bytes) or the reason: passed through. Sinks keep event contents and credentials out of it.
      const them = count === 1 ? "it" : "them";
      return new AuditEmitError(
        this.name,
        `dropped ${events} (${sinkRefusal}): the sink refused ${them}: ${toError(cause).message}`,
        options,
      );
    }
    const spoolFailure = SPOOL_FAILURES[reason];
    if (spoolFailure !== undefined) {
      const times = count === 1 ? "" : ` (${count} failures since the last report)`;
      const message = `spool ${this.spoolPath}: ${spoolFailure[0]} failed${times}: ${toError(cause).message}; ${spoolFailure[1]}`;
      return new AuditEmitError(this.name, message, options);
    }
    if (reason === "unencodable") {
      return new AuditEmitError(this.name, `refused ${events} at emit: cannot be encoded`, options);
    }
    if (reason === "fail_rpc") {
      return new AuditEmitError(this.name, `refused ${events} (overflow policy fail-rpc): the queue is full`);
    }
    return new AuditEmitError(
      this.name,
      `dropped ${events} (${reason}): ${REASONS[reason] ?? reason}`,
      options,
    );
  }
}
