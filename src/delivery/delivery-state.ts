import { report } from "../emitters/emitter.js";
import type { EncodedEvent } from "../emitters/sink.js";
import { AuditConfigError, toError } from "../errors/index.js";
import { KIND_NAMES } from "../event/kinds.js";
import { peekEventId } from "../event/wire-peek.js";
import { DeliveryCounters, Warnings } from "./delivery-stats.js";
import { EventQueue } from "./event-queue.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import { Spool, type SpoolRow } from "./spool.js";
import { Wakeup } from "./wakeup.js";

/** An event of the "park" policy waiting for queue space. @internal */
export interface Parked {
  readonly seq: number;
  readonly kind: number;
  readonly bytes: Uint8Array;
  readonly deadline: number;
}

/** A batch taken from the queue: counted in the memory bounds until acknowledged or spooled. @internal */
export interface QueueBatch {
  readonly source: "queue";
  /** Ascending: a batch is taken from the queue's head. */
  readonly seqs: number[];
  readonly kinds: number[];
  /** The batch's own copies of the bytes (the queue reuses its storage). */
  readonly events: EncodedEvent[];
  readonly bytes: number;
}

/**
 * What the parts of the pipeline share: the bounds, the queue, the parked list, the batches being
 * written, the spool, the counters.
 *
 * Every accepted event gets a sequence number (`seq`) that is also its row id if it is spooled, so
 * the spool replays in emit order however events got there. An event lives in exactly one place:
 * the queue, the parked list, a batch being written, or the spool.
 * @internal
 */
export class DeliveryState {
  readonly options: ResolvedDeliveryOptions;
  readonly counters: DeliveryCounters;
  readonly warnings: Warnings;
  readonly queue: EventQueue;
  readonly parked: Parked[] = [];
  readonly spool: Spool | undefined;
  /** Wakes the pump when there is something new to deliver. */
  readonly wakeup = new Wakeup();
  lastSeq: number;
  /** Batches taken from the queue and not yet acknowledged or spooled (at most maxInFlightBatches). */
  readonly inFlight = new Set<QueueBatch>();
  /** Events and encoded bytes of the batches in `inFlight`. */
  inFlightEvents = 0;
  inFlightBytes = 0;
  /** A batch from the queue spent its retry budget: queued events go to the spool until a write succeeds. */
  sinkDown = false;
  /** close() was called: emit refuses. */
  closed = false;
  /** close() finished its drain: timers stop. */
  stopped = false;
  /** flush() or close() calls in progress: batches go out without waiting for flushIntervalMs. */
  urgent = 0;
  parkTimer: NodeJS.Timeout | undefined;
  /** A commit forced by maxUncommittedEvents left too many uncommitted (spool full or failing): wait for the timer. */
  #forcedCommitStuck = false;
  readonly #settleWaiters = new Set<() => void>();
  #settleCheckQueued = false;

  constructor(options: ResolvedDeliveryOptions) {
    this.options = options;
    this.counters = new DeliveryCounters(options.name);
    this.warnings = new Warnings(options.name, options.warnIntervalMs, options.onError);
    for (const warning of options.warnings) {
      report(options.onError, new AuditConfigError(`delivery emitter: ${warning}`));
    }
    // Chunks of 1/64 of the bound keep what the queue holds beyond maxQueueBytes to a few percent.
    this.queue = new EventQueue(Math.min(1 << 20, Math.max(1 << 14, Math.ceil(options.maxQueueBytes / 64))));
    this.spool = openSpool(options, this.counters);
    this.lastSeq = this.spool?.maxId ?? 0;
  }

  /** True when one more event of `size` bytes fits the memory bounds (the batches being written included). */
  fits(size: number): boolean {
    const events = this.queue.length + this.inFlightEvents;
    const bytes = this.queue.bytes + this.inFlightBytes;
    return events < this.options.maxQueueEvents && bytes + size <= this.options.maxQueueBytes;
  }

  /** A batch taken from the queue is being written: it stays counted in the memory bounds. */
  addInFlight(batch: QueueBatch): void {
    this.inFlight.add(batch);
    this.inFlightEvents += batch.seqs.length;
    this.inFlightBytes += batch.bytes;
  }

  /** A batch left memory: acknowledged, or moved to the spool. */
  removeInFlight(batch: QueueBatch): void {
    if (!this.inFlight.delete(batch)) return;
    this.inFlightEvents -= batch.seqs.length;
    this.inFlightBytes -= batch.bytes;
  }

  enqueue(seq: number, kind: number, bytes: Uint8Array): void {
    this.queue.push(seq, kind, bytes);
    const { length, bytes: queued } = this.queue;
    const { maxBatchEvents, maxBatchBytes } = this.options;
    // Wake the pump only when it has something new to decide: a first event, or a full batch.
    if (
      length === 1 ||
      length === maxBatchEvents ||
      (queued >= maxBatchBytes && queued - bytes.length < maxBatchBytes)
    ) {
      this.wakeup.wake();
    }
  }

  /** Moves parked events into the queue while there is room, oldest first. */
  promoteParked(): void {
    for (
      let head = this.parked[0];
      head !== undefined && this.fits(head.bytes.length);
      head = this.parked[0]
    ) {
      this.parked.shift();
      this.enqueue(head.seq, head.kind, head.bytes);
    }
  }

  /** Counts an event refused at emit. */
  refuse(reason: string, kind: number): "dropped" {
    this.warnings.note(reason);
    return this.counters.dropEvent(reason, kind, false);
  }

  /** Counts an accepted event that is dropped after all. */
  lose(reason: string, kind: number): void {
    this.warnings.note(reason);
    this.counters.dropEvent(reason, kind, true);
    this.settled();
  }

  /** True while batches come from the spool: write-ahead mode, or rows waiting (replay, outage, overflow). */
  fromSpool(): boolean {
    const spool = this.spool;
    if (spool === undefined) return false;
    return this.options.spool?.writeAhead === true || spool.rows + spool.pendingRows > 0;
  }

  /** The spool row of an encoded event. */
  row(seq: number, kind: number, bytes: Uint8Array): SpoolRow {
    return { id: seq, eventId: peekEventId(bytes), eventType: KIND_NAMES[kind] ?? "unspecified", bytes };
  }

  /**
   * The group commit, run every commitIntervalMs: while the spool is in use, queued events move into
   * it (as many as fit, oldest first); then everything appended is committed in one transaction.
   */
  commitTick(): void {
    const spool = this.spool;
    if (spool === undefined) return;
    this.#forcedCommitStuck = false;
    if (this.sinkDown || this.fromSpool()) {
      this.#queueToSpool(spool);
      if (this.parked.length > 0) {
        this.promoteParked();
        this.#queueToSpool(spool);
      }
    }
    const committed = spool.commit();
    if (committed > 0) {
      this.counters.spooled += committed;
      this.wakeup.wake();
      this.settled();
    }
  }

  /**
   * Called after emit accepted an event: in write-ahead mode, commits at once when
   * maxUncommittedEvents accepted events wait for a commit, whatever the commit timer is doing.
   */
  commitIfDue(): void {
    const config = this.options.spool;
    if (config?.writeAhead !== true || this.#forcedCommitStuck) return;
    if (this.#uncommitted() < config.maxUncommittedEvents) return;
    this.commitTick();
    // Still too many: the spool is full or cannot commit. Trying again at every emit would not help.
    this.#forcedCommitStuck = this.#uncommitted() >= config.maxUncommittedEvents;
  }

  /** In write-ahead mode: accepted events not yet committed to the spool. */
  #uncommitted(): number {
    return this.queue.length + this.parked.length + (this.spool?.pendingRows ?? 0);
  }

  #queueToSpool(spool: Spool): void {
    for (
      let size = this.queue.peekSize();
      size !== undefined && spool.fits(size);
      size = this.queue.peekSize()
    ) {
      const event = this.queue.shift();
      if (event === undefined) break;
      // The queue reuses its storage: the spool keeps a copy until the commit.
      spool.append(this.row(event.seq, event.kind, event.bytes.slice()));
    }
  }

  /** Events numbered `seq` or lower that the sink has not taken yet (in memory or in the spool). */
  pendingUpTo(seq: number): number {
    let pending = this.queue.countUpTo(seq) + this.parked.filter((event) => event.seq <= seq).length;
    for (const batch of this.inFlight) pending += batch.seqs.filter((batchSeq) => batchSeq <= seq).length;
    return pending + (this.spool?.rowsUpTo(seq) ?? 0);
  }

  /** True when every event numbered `seq` or lower was delivered or dropped (counted). */
  #settledUpTo(seq: number): boolean {
    const none = Number.POSITIVE_INFINITY;
    // Cheap checks first: the queue's head and the oldest in-flight batch are usually the oldest.
    if ((this.queue.peekSeq() ?? none) <= seq || (this.parked[0]?.seq ?? none) <= seq) return false;
    for (const batch of this.inFlight) if ((batch.seqs[0] ?? none) <= seq) return false;
    if ((this.spool?.minPendingId() ?? none) <= seq) return false;
    if ((this.spool?.minCommittedId() ?? none) <= seq) return false;
    // Promoted parked events can queue behind newer ones: only a full scan is sure.
    return this.queue.minSeq() > seq;
  }

  /** Something left the pipeline: re-check the flush and close waiters once, after the current task. */
  settled(): void {
    if (this.#settleWaiters.size === 0 || this.#settleCheckQueued) return;
    this.#settleCheckQueued = true;
    queueMicrotask(() => {
      this.#settleCheckQueued = false;
      for (const check of [...this.#settleWaiters]) check();
    });
  }

  /** Resolves true once every event up to `seq` was delivered or dropped, false after `timeoutMs`. */
  waitSettled(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.#settledUpTo(seq)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#settleWaiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.#settledUpTo(seq)) finish(true);
      };
      // Not unref()ed: whoever awaits flush() or close() gets an answer, at the latest after timeoutMs.
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#settleWaiters.add(check);
    });
  }
}

function openSpool(options: ResolvedDeliveryOptions, counters: DeliveryCounters): Spool | undefined {
  const config = options.spool;
  if (config === undefined) return undefined;
  try {
    return new Spool({
      path: config.path,
      maxBytes: config.maxBytes,
      synchronous: config.synchronous,
      name: options.name,
      onError: (error) => report(options.onError, error),
      onMovedAside: (salvage) => counters.spoolMovedAside(salvage),
    });
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(
      `delivery emitter: cannot open spool.path ${config.path}: ${toError(error).message}`,
      { cause: error },
    );
  }
}
