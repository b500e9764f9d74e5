import type { EmitOutcome } from "../emitters/emitter.js";
import {
  AuditConfigError,
  type AuditEventRefusedError,
  type AuditEventTooLargeError,
  type AuditPartialDeliveryError,
} from "../errors/index.js";
import { report } from "../errors/report.js";
import { BatchTrim } from "./batch-trim.js";
import type { Batch, QueueBatch } from "./batches.js";
import { DeliveryCounters, Warnings } from "./delivery-stats.js";
import { evictableKinds } from "./evictable-kinds.js";
import { HeldEvents, type QueueView } from "./held-events.js";
import { monotonicNow } from "./monotonic-now.js";
import { openSpool } from "./open-spool.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import { SettleWaiters } from "./settle-waiters.js";
import { RefusedSizes } from "./sink-fit.js";
import { SinkReports } from "./sink-reports.js";
import type { Spool, SpoolRow } from "./spool.js";
import { SpoolStage } from "./spool-stage.js";
import { Wakeup } from "./wakeup.js";

/** What the pump and stats read of the spool. @internal */
export type SpoolView = Pick<
  Spool,
  "rows" | "pendingRows" | "bytes" | "fits" | "read" | "readFailures" | "undeletedRows"
>;

/**
 * Where every accepted event is, and the only code that moves it: the queue, the parked list, the
 * batches being written (its HeldEvents), the spool (its SpoolStage). The emit path (intake.ts), the
 * pump and the pipeline call its transitions, named for what happens, and read it through getters;
 * the counters change with the transitions.
 *
 * Every accepted event gets a sequence number (`seq`) that is also its row id if it is spooled, so
 * the spool replays in emit order however events got there. An event lives in exactly one place.
 * @internal
 */
export class DeliveryState {
  readonly options: ResolvedDeliveryOptions;
  readonly counters: DeliveryCounters;
  readonly warnings: Warnings;
  readonly sinkReports: SinkReports;
  /** Wakes the pump when there is something new to deliver. */
  readonly wakeup = new Wakeup();
  /** What the sink refused as too large when it wrote it: emit refuses as large from then on. */
  readonly refusedSizes = new RefusedSizes();
  readonly #held: HeldEvents;
  readonly #spooled: SpoolStage | undefined;
  readonly #trim: BatchTrim;
  readonly #settle = new SettleWaiters((seq) => this.#settledUpTo(seq));
  #lastSeq: number;
  #closed = false;
  /** After close() finished: the rows it left in the spool file, never delivered by this emitter. */
  #leftAtClose: number | undefined;
  /** flush() or close() calls in progress. */
  #urgent = 0;

  constructor(options: ResolvedDeliveryOptions) {
    this.options = options;
    this.counters = new DeliveryCounters(options.name);
    this.warnings = new Warnings(options.name, options.warnIntervalMs, options.onError, options.spool?.path);
    const { name, warnIntervalMs, onError, onSinkRecovered } = options;
    this.sinkReports = new SinkReports(name, warnIntervalMs, onError, onSinkRecovered);
    for (const warning of options.warnings) {
      report(options.onError, new AuditConfigError(warning));
    }
    const held = new HeldEvents(options, this.wakeup, evictableKinds(options), (kind) =>
      this.#lose("park_timeout", kind),
    );
    this.#held = held;
    // A spool given up while in use hands back the events that waited for its next commit.
    const spool = openSpool(options, this.counters, {
      warnings: this.warnings,
      onGivenUp: () => this.#spooled?.reclaimPending(),
    });
    this.#spooled =
      spool &&
      new SpoolStage(spool, {
        options,
        counters: this.counters,
        warnings: this.warnings,
        held,
        lose: (reason, kind, warn) => this.#lose(reason, kind, warn),
        committed: () => {
          this.wakeup.wake();
          this.#settle.check();
        },
      });
    this.#trim = new BatchTrim({
      options,
      counters: this.counters,
      warnings: this.warnings,
      held,
      spooled: this.#spooled,
      settle: this.#settle,
      lose: (reason, kind, warn) => this.#lose(reason, kind, warn),
      learnTooLarge: (size) => this.refusedSizes.learn(size),
    });
    this.#lastSeq = spool?.maxId ?? 0;
  }

  get queue(): QueueView {
    return this.#held.queue;
  }

  get spool(): SpoolView | undefined {
    return this.#spooled?.spool;
  }

  /** The sequence number of the last accepted event. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** close() was called: emit refuses. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A flush() or close() is in progress: batches go out without waiting for flushIntervalMs. */
  get urgent(): boolean {
    return this.#urgent > 0;
  }

  /** A batch from the queue spent its retry budget: queued events go to the spool until a write succeeds. */
  get sinkDown(): boolean {
    return this.#spooled?.sinkDown ?? false;
  }

  /** Events of the "park" policy wait for queue space. */
  get hasParked(): boolean {
    return this.#held.parked > 0;
  }

  /** Events and encoded bytes in memory (queued, or in the batches being written), and events parked. */
  memory(): { events: number; bytes: number; parked: number } {
    return { events: this.#held.events, bytes: this.#held.bytes, parked: this.#held.parked };
  }

  /**
   * True when one more event of `size` bytes fits the memory bounds (the batches being written
   * included). In write-ahead mode the queued events only wait for the group commit: when the event
   * does not fit they are committed now, and leave memory, so only a spool that cannot take them
   * (full, or failing) makes emit refuse.
   */
  roomFor(size: number): boolean {
    if (this.#held.fits(size)) return true;
    this.#spooled?.commitToMakeRoom();
    return this.#held.fits(size);
  }

  /** True while batches come from the spool: write-ahead mode, or rows waiting (replay, outage, overflow). */
  fromSpool(): boolean {
    return this.#spooled?.inUse() ?? false;
  }

  // The emit path.

  /** Accepts an event into the queue (in write-ahead mode, into the spool when a commit is due). */
  accept(kind: number, bytes: Uint8Array): EmitOutcome {
    const ahead = this.#writeAhead(kind, bytes);
    if (ahead !== undefined) return ahead;
    this.#held.enqueue(++this.#lastSeq, kind, bytes);
    return this.#accepted();
  }

  /** Accepts an event straight into the spool ("spool" policy); refuses it when there is none or it is full. */
  acceptToSpool(kind: number, bytes: Uint8Array): EmitOutcome {
    const ahead = this.#writeAhead(kind, bytes);
    if (ahead !== undefined) return ahead;
    if (this.#spooled === undefined || !this.#spooled.append(this.#lastSeq + 1, kind, bytes))
      return this.refuse(this.spoolRefusal, kind);
    this.#lastSeq++;
    return this.#accepted();
  }

  /**
   * The reason an event the spool did not take is dropped with: "spool_full" (maxBytes, or the disk is
   * full), or "spool_error" while the spool cannot commit for another reason (read-only, busy).
   */
  get spoolRefusal(): "spool_full" | "spool_error" {
    return this.#spooled?.refusal ?? "spool_full";
  }

  /** Parks an event ("park" policy) until there is room, or until park.timeoutMs has passed. */
  park(kind: number, bytes: Uint8Array): EmitOutcome {
    const { timeoutMs, maxParked } = this.options.park;
    if (this.#held.parked >= maxParked) return this.refuse("parked_full", kind);
    const ahead = this.#writeAhead(kind, bytes);
    if (ahead !== undefined) return ahead;
    // A copy: encodeEvent's bytes are a view of a shared 8 KiB buffer, which a long-parked view keeps alive.
    const own = bytes.slice();
    this.#held.park({ seq: ++this.#lastSeq, kind, bytes: own, deadline: monotonicNow() + timeoutMs });
    return this.#accepted();
  }

  /**
   * Drops the oldest queued event "drop-oldest" may evict (see evictableKinds), however old the kept
   * ones queued before it; false when there is none (only batches being written, or kept events).
   */
  evictOldest(): boolean {
    const oldest = this.#held.shiftEvictable();
    if (oldest === undefined) return false;
    this.#lose("queue_full", oldest.kind);
    return true;
  }

  /** Moves parked events into the queue while there is room, oldest first. */
  promoteParked(): void {
    this.#held.promoteParked();
  }

  /** Counts an event refused at emit; `warn: false` for refusals that are no news (after close). */
  refuse(reason: string, kind: number, warn = true): "dropped" {
    if (warn) this.warnings.note(reason);
    return this.counters.dropEvent(reason, kind, false);
  }

  /** Counts an emit that failed; `reason` is noted as a warning when given. */
  failEmit(reason?: string): "failed" {
    this.counters.failed++;
    if (reason !== undefined) this.warnings.note(reason);
    return "failed";
  }

  // The pump.

  /** Takes the next batch off the queue, stopping before an event numbered `beforeSeq` or later. */
  takeBatch(beforeSeq = Number.POSITIVE_INFINITY): QueueBatch {
    return this.#held.takeBatch(beforeSeq);
  }

  /**
   * Drops spool rows that will never be delivered, and deletes them: "spool_corrupt" (they do not hold
   * the event they name) or "too_large" (the sink can never take them).
   */
  discardRows(rows: readonly SpoolRow[], reason: "spool_corrupt" | "too_large"): void {
    if (rows.length > 0) this.#spooled?.discard(rows, reason);
  }

  /** After a failed write: drops the events the sink can never take (see BatchTrim.dropUnsendable). */
  dropUnsendable(batch: Batch): Batch {
    return this.#trim.dropUnsendable(batch);
  }

  /** After an AuditEventTooLargeError or AuditEventRefusedError: drops the events it names (BatchTrim.dropNamed). */
  dropNamed(batch: Batch, refusal: AuditEventTooLargeError | AuditEventRefusedError): Batch {
    return this.#trim.dropNamed(batch, refusal);
  }

  /** After an AuditPartialDeliveryError: delivers the events it names (see BatchTrim.deliverNamed). */
  deliverNamed(batch: Batch, partial: AuditPartialDeliveryError): Batch {
    return this.#trim.deliverNamed(batch, partial);
  }

  /** The sink acknowledged a batch: it leaves memory or the spool, and parked events may move up. */
  markDelivered(batch: Batch): void {
    this.#spooled?.sinkUp();
    if (batch.source === "queue") {
      this.#held.release(batch);
      this.#held.promoteParked();
    } else {
      this.#spooled?.remove(batch.rows);
      this.counters.replayed += batch.events.length;
    }
    this.counters.delivered += batch.events.length;
    this.#settle.check();
  }

  /** A failed write is tried again. */
  countRetry(): void {
    this.counters.retried++;
  }

  /**
   * A batch from the queue spent its retry budget: the sink counts as down and the batch goes to the
   * spool (then the queue, at the commit). False, and nothing changes, without a spool or room in it.
   */
  spoolFailedBatch(batch: QueueBatch): boolean {
    return this.#spooled?.takeFailedBatch(batch) ?? false;
  }

  /** The group commit of the spool, run every commitIntervalMs (see SpoolStage.commitTick). */
  commitTick(): void {
    this.#spooled?.commitTick();
  }

  // flush() and close().

  /** A flush() or close() starts: batches go out without waiting for flushIntervalMs. */
  beginUrgent(): void {
    this.#urgent++;
  }

  endUrgent(): void {
    this.#urgent--;
  }

  /** close() was called: emit refuses from now on. */
  markClosed(): void {
    this.#closed = true;
  }

  /**
   * close() finished its drain: timers stop, what it could not deliver goes to the spool in sequence
   * order or is dropped and counted, and the spool file closes. Returns the rows left in it (the next
   * emitter on the file replays them).
   */
  finishClose(): number {
    this.#finish(false);
    return this.#leftAtClose ?? 0;
  }

  /**
   * The process exits without close() (its "exit" event: nothing asynchronous runs any more): as
   * finishClose, but every drop counts as "exit" and is left for the caller to report. Returns the
   * events dropped, and the error of a last spool commit that failed; nothing once close() finished.
   */
  finishAtExit(): { dropped: number; error: Error | undefined } {
    if (this.#leftAtClose !== undefined) return { dropped: 0, error: undefined };
    this.#closed = true;
    const lostBefore = this.counters.lost;
    const error = this.#finish(true);
    return { dropped: this.counters.lost - lostBefore, error };
  }

  #finish(atExit: boolean): Error | undefined {
    this.#held.stop();
    let error: Error | undefined;
    if (this.#spooled === undefined) {
      const reason = atExit ? "exit" : "close_timeout";
      for (const { kind } of this.#held.removeAll()) this.#lose(reason, kind, !atExit);
      this.#leftAtClose = 0;
    } else {
      error = this.#spooled.keepLeftovers(atExit);
      this.#leftAtClose = this.#spooled.close();
    }
    // Nothing leaves any more: a flush() waiting now, or called later, answers at once.
    this.#settle.end();
    return error;
  }

  /** Events numbered `seq` or lower that the sink has not taken yet (in memory or in the spool). */
  pendingUpTo(seq: number): number {
    return this.#held.countUpTo(seq) + (this.#spooled?.spool.rowsUpTo(seq) ?? 0);
  }

  /** Resolves true once every event up to `seq` was delivered or dropped, false after `timeoutMs`. */
  waitSettled(seq: number, timeoutMs: number): Promise<boolean> {
    return this.#settle.wait(seq, timeoutMs);
  }

  #accepted(): "accepted" {
    this.counters.emitted++;
    return "accepted";
  }

  /**
   * Write-ahead mode: when the event makes a commit due, it is committed at once or refused, never
   * held in memory (see SpoolStage.takeAtEmit); undefined when no commit is due.
   */
  #writeAhead(kind: number, bytes: Uint8Array): EmitOutcome | undefined {
    const taken = this.#spooled?.takeAtEmit(this.#lastSeq + 1, kind, bytes) ?? "wait";
    if (taken === "wait") return undefined;
    if (taken !== "taken") return this.refuse(taken, kind);
    this.#lastSeq++;
    return this.#accepted();
  }

  /** Counts an accepted event that is dropped after all; `warn: false` when the caller reports it. */
  #lose(reason: string, kind: number, warn = true): void {
    if (warn) this.warnings.note(reason);
    this.counters.dropEvent(reason, kind, true);
    this.#settle.check();
  }

  /** True when every event numbered `seq` or lower was delivered or dropped (counted). */
  #settledUpTo(seq: number): boolean {
    // Once closed the spool file cannot be read: what close() left there counts, whatever its number.
    if (this.#leftAtClose !== undefined) return this.#leftAtClose === 0;
    const none = Number.POSITIVE_INFINITY;
    if (this.#held.heldUpTo(seq)) return false;
    if ((this.#spooled?.spool.minPendingId() ?? none) <= seq) return false;
    if ((this.#spooled?.spool.minCommittedId() ?? none) <= seq) return false;
    // Promoted parked events can queue behind newer ones: only a full scan is sure.
    return this.#held.queueMinSeq() > seq;
  }
}
