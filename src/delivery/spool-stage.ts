import { KIND_NAMES, kindIndexOfName } from "../event/kinds.js";
import { peekEventId } from "../event/wire-peek.js";
import { retryDelay } from "./backoff.js";
import type { QueueBatch } from "./batches.js";
import type { DeliveryCounters, Warnings } from "./delivery-stats.js";
import type { HeldEvents } from "./held-events.js";
import { monotonicNow } from "./monotonic-now.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import type { Spool, SpoolRow } from "./spool.js";
import { sqliteCode } from "./spool-file.js";

/** What the spool stage needs of the DeliveryState it is part of. @internal */
export interface SpoolStageHost {
  readonly options: ResolvedDeliveryOptions;
  readonly counters: DeliveryCounters;
  readonly warnings: Warnings;
  readonly held: HeldEvents;
  /** Counts an accepted event that is dropped after all; `warn: false` when the caller reports it. */
  lose(reason: string, kind: number, warn?: boolean): void;
  /** Events were committed, or moved back to memory: wake the pump and the flush and close waiters. */
  committed(): void;
}

/**
 * The spool's part of DeliveryState, which alone calls it: moves events into the spool (at emit, at
 * the group commit, after a sink outage, at close), commits them, and says when batches come from it.
 * @internal
 */
export class SpoolStage {
  readonly spool: Spool;
  readonly #host: SpoolStageHost;
  /** A batch from the queue spent its retry budget: queued events go to the spool until a write succeeds. */
  #sinkDown = false;
  /** A commit forced at emit to make room left events queued (spool full or failing): wait for the timer. */
  #forcedCommitStuck = false;
  /** Commits SQLite refused in a row (disk full, read-only, busy), and the last pause they caused. */
  #commitFailures = 0;
  #commitPauseMs = 0;
  /** The reason events the spool refuses while paused are dropped with: "spool_full" or "spool_error". */
  #refusal: "spool_full" | "spool_error" = "spool_full";
  /** Deletes SQLite refused in a row, and when the group commit tries the rows left again. */
  #deleteFailures = 0;
  #deleteDelayMs = 0;
  #deleteRetryAt = 0;

  constructor(spool: Spool, host: SpoolStageHost) {
    this.spool = spool;
    this.#host = host;
  }

  get sinkDown(): boolean {
    return this.#sinkDown;
  }

  /**
   * True while batches come from the spool: write-ahead mode, or rows waiting (replay, outage, overflow);
   * never once the spool was given up (a damaged file that could not be replaced).
   */
  inUse(): boolean {
    if (this.spool.closed) return false;
    return this.#host.options.spool?.writeAhead === true || this.spool.rows + this.spool.pendingRows > 0;
  }

  /**
   * Why the spool does not take an event now: "spool_error" while it is paused after SQLite refused a
   * commit for another reason than a full disk, else "spool_full" (maxBytes, or a full disk).
   */
  get refusal(): "spool_full" | "spool_error" {
    return this.#commitFailures > 0 ? this.#refusal : "spool_full";
  }

  /**
   * The spool was given up, or cannot commit: the events appended since its last commit go back to the
   * queue (beyond its bounds: they were accepted), in sequence order, to be delivered from memory as if
   * there were no spool. The event numbered `refused` (refused at emit) is left out.
   */
  reclaimPending(refused?: number): void {
    const rows = this.spool.discardPending().filter((pending) => pending.id !== refused);
    this.#host.held.restore(
      rows.map((pending) => ({
        seq: pending.id,
        kind: kindIndexOfName(pending.eventType),
        bytes: pending.bytes,
      })),
    );
    if (rows.length > 0) this.#host.committed();
  }

  /** Appends the event numbered `seq`; false when it does not fit. */
  append(seq: number, kind: number, bytes: Uint8Array): boolean {
    return this.spool.append(row(seq, kind, bytes));
  }

  /** A write succeeded: the sink is up. */
  sinkUp(): void {
    this.#sinkDown = false;
  }

  /** Drops rows that will never be delivered, counted under `reason`, and deletes them. */
  discard(rows: readonly SpoolRow[], reason: string, warn = true): void {
    for (const bad of rows) this.#host.lose(reason, kindIndexOfName(bad.eventType), warn);
    this.remove(rows);
  }

  /**
   * Deletes rows the sink took (or that were dropped). When SQLite refuses (disk full, read-only,
   * busy) the spool remembers them and never reads them again; the group commit tries again after a
   * backoff delay (the `retry` policy), and so does every later delete.
   */
  remove(rows: readonly SpoolRow[]): void {
    if (this.spool.remove(rows)) this.#deleteFailures = 0;
    else this.#deleteFailed();
  }

  /** See DeliveryState.spoolFailedBatch. */
  takeFailedBatch(batch: QueueBatch): boolean {
    if (!this.spool.fits(batch.bytes)) return false;
    this.#sinkDown = true;
    this.#host.held.release(batch);
    batch.events.forEach((event, i) => {
      this.append(batch.seqs[i] ?? 0, batch.kinds[i] ?? 0, event.bytes);
    });
    this.commitTick();
    return true;
  }

  /**
   * The group commit, run every commitIntervalMs: while the spool is in use, queued events move into
   * it (as many as fit, oldest first); then everything appended is committed in one transaction.
   */
  commitTick(): void {
    this.#forcedCommitStuck = false;
    if (this.#sinkDown || this.inUse()) this.#waitingToSpool();
    this.#commit();
  }

  /**
   * Write-ahead mode, at emit: when the event numbered `seq` would be the maxUncommittedEvents-th to
   * wait for a commit, it is committed at once with those waiting, before emit answers. "wait": not
   * due (or no write-ahead), the caller holds the event as usual. "taken": committed (or, the spool
   * given up meanwhile, delivered from memory as without one). Else why the spool did not take it:
   * the event is refused and held nowhere, as an answered call must not rest on memory alone.
   */
  takeAtEmit(seq: number, kind: number, bytes: Uint8Array): "wait" | "taken" | "spool_full" | "spool_error" {
    const config = this.#host.options.spool;
    if (config?.writeAhead !== true || this.spool.closed) return "wait";
    if (this.#uncommitted() + 1 < config.maxUncommittedEvents) return "wait";
    this.#waitingToSpool();
    const { held } = this.#host;
    // Behind events still held (the spool has no room for them) it would be committed out of turn.
    const appended = held.queue.length + held.parked === 0 && this.append(seq, kind, bytes);
    const committed = this.#commit(appended ? seq : undefined);
    return appended && committed ? "taken" : this.refusal;
  }

  /**
   * SQLite refused a commit, the file being fine (disk full, read-only, busy): what waited for it goes
   * back to memory and is delivered from there, and the spool takes nothing until a backoff delay (the
   * `retry` policy, at least commitIntervalMs) has passed; then it is tried again with what comes. The
   * failure is reported at most once per warnIntervalMs, with the count.
   */
  #commitFailed(error: Error, refused?: number): void {
    const { options, warnings } = this.#host;
    this.#commitFailures++;
    this.#refusal = sqliteCode(error) === "SQLITE_FULL" ? "spool_full" : "spool_error";
    this.#commitPauseMs = retryDelay(
      options.retry,
      this.#commitFailures,
      this.#commitPauseMs,
      options.random,
    );
    this.spool.pause(Math.max(this.#commitPauseMs, options.spool?.commitIntervalMs ?? 0));
    warnings.note(options.spool?.writeAhead === true ? "spool_commit_write_ahead" : "spool_commit", error);
    this.reclaimPending(refused);
  }

  /** A delete failed: the group commit tries it again after the next backoff delay. */
  #deleteFailed(): void {
    const { options } = this.#host;
    this.#deleteFailures++;
    this.#deleteDelayMs = retryDelay(
      options.retry,
      this.#deleteFailures,
      this.#deleteDelayMs,
      options.random,
    );
    this.#deleteRetryAt = monotonicNow() + this.#deleteDelayMs;
  }

  /**
   * Called at emit in write-ahead mode when an event does not fit the memory bounds: commits the
   * queued events at once (see DeliveryState.roomFor). A burst of large events fills maxQueueBytes long
   * before maxUncommittedEvents events wait.
   */
  commitToMakeRoom(): void {
    const { options, held } = this.#host;
    if (options.spool?.writeAhead !== true || this.#forcedCommitStuck || held.queue.length === 0) return;
    this.commitTick();
    // Events still queued: the spool is full or cannot commit. Trying again at every emit would not help.
    this.#forcedCommitStuck = held.queue.length > 0;
  }

  /**
   * close(): what memory still holds goes to the spool in sequence order, or is dropped and counted.
   * `atExit` (the process exits without close()): every drop counts as "exit" and is not reported
   * here; the caller reports them at once. Returns the error of a last commit that failed.
   */
  keepLeftovers(atExit = false): Error | undefined {
    const { held, counters } = this.#host;
    const lose = (reason: string, kind: number) => this.#host.lose(atExit ? "exit" : reason, kind, !atExit);
    // A spool paused after a failed commit is tried once more: the disk may have room again.
    this.spool.resume();
    // The last commit must reach a file a later emitter finds at the path.
    this.spool.checkFile(true);
    // A spool given up takes nothing: what is left is dropped as without a spool.
    const refused = this.spool.closed ? "close_timeout" : "spool_full";
    for (const { seq, kind, bytes } of held.removeAll()) {
      if (!this.append(seq, kind, bytes)) lose(refused, kind);
    }
    const { committed, error } = this.spool.commit();
    counters.spooled += committed;
    // A commit that failed here cannot be tried again: count what it held ("spool_full" when the disk
    // is full), and what a spool given up in that commit moved back to memory.
    const failed = sqliteCode(error) === "SQLITE_FULL" ? "spool_full" : "spool_error";
    if (error !== undefined && !atExit) this.#host.warnings.note("spool_commit", error);
    for (const pending of this.spool.discardPending()) lose(failed, kindIndexOfName(pending.eventType));
    for (const { kind } of held.removeAll()) lose("spool_error", kind);
    return error;
  }

  /** Closes the spool file; returns the rows left in it (the next emitter on it replays them). */
  close(): number {
    const left = this.spool.rowsUpTo(Number.POSITIVE_INFINITY);
    this.spool.close();
    return left;
  }

  /** In write-ahead mode: accepted events not yet committed to the spool. */
  #uncommitted(): number {
    return this.#host.held.queue.length + this.#host.held.parked + this.spool.pendingRows;
  }

  /** Queued events, then parked ones promoted meanwhile, move into the spool (as many as fit, oldest first). */
  #waitingToSpool(): void {
    const { held } = this.#host;
    this.#queueToSpool();
    if (held.parked > 0) {
      held.promoteParked();
      this.#queueToSpool();
    }
  }

  /**
   * Commits what is appended (after deleting delivered rows when due, and checking the file); false
   * when SQLite refused the commit. `refused`: the event refused at emit if it fails (see takeAtEmit).
   */
  #commit(refused?: number): boolean {
    const { counters } = this.#host;
    if (this.spool.undeletedRows > 0 && monotonicNow() >= this.#deleteRetryAt) this.remove([]);
    this.spool.checkFile();
    const { committed, error } = this.spool.commit();
    if (error !== undefined) {
      this.#commitFailed(error, refused);
      return false;
    }
    if (committed > 0) {
      this.#commitFailures = 0;
      counters.spooled += committed;
      this.#host.committed();
    }
    return true;
  }

  #queueToSpool(): void {
    const { held } = this.#host;
    for (
      let size = held.queue.peekSize();
      size !== undefined && this.spool.fits(size);
      size = held.queue.peekSize()
    ) {
      const event = held.shiftQueued();
      if (event === undefined) break;
      // The queue reuses its storage: the spool keeps a copy until the commit.
      this.append(event.seq, event.kind, event.bytes.slice());
    }
  }
}

/** The spool row of an encoded event. */
function row(seq: number, kind: number, bytes: Uint8Array): SpoolRow {
  return { id: seq, eventId: peekEventId(bytes), eventType: KIND_NAMES[kind] ?? "unspecified", bytes };
}
