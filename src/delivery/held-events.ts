import { InFlightBatches, type QueueBatch } from "./batches.js";
import type { QueuedEvent } from "./event-queue.js";
import { monotonicNow } from "./monotonic-now.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import { type Parked, ParkedList } from "./parked-list.js";
import { takeQueueBatch } from "./queue-batch.js";
import { EvictableQueue } from "./queue-evictable.js";
import type { Wakeup } from "./wakeup.js";

/** What the pump and stats read of the queue. @internal */
export type QueueView = Pick<EvictableQueue, "length" | "bytes" | "peekSeq" | "peekSize">;

/** An event leaving memory at close. @internal */
export interface HeldEvent {
  readonly seq: number;
  readonly kind: number;
  readonly bytes: Uint8Array;
}

/**
 * The accepted events held in memory: the queue, the parked list and the batches being written, and
 * the memory bounds over them. Part of DeliveryState, which alone calls it.
 * @internal
 */
export class HeldEvents {
  readonly #options: ResolvedDeliveryOptions;
  readonly #wakeup: Wakeup;
  readonly #queue: EvictableQueue;
  readonly #parked: ParkedList;
  readonly #inFlight = new InFlightBatches();

  /**
   * `evictable`, indexed by kind: true when "drop-oldest" may evict its events. `onParkExpired`
   * counts a parked event dropped after park.timeoutMs.
   */
  constructor(
    options: ResolvedDeliveryOptions,
    wakeup: Wakeup,
    evictable: readonly boolean[],
    onParkExpired: (kind: number) => void,
  ) {
    this.#options = options;
    this.#wakeup = wakeup;
    // Chunks of 1/64 of the bound keep what the queue holds beyond maxQueueBytes to a few percent.
    const chunkBytes = Math.min(1 << 20, Math.max(1 << 14, Math.ceil(options.maxQueueBytes / 64)));
    this.#queue = new EvictableQueue(chunkBytes, evictable);
    // The oldest parked event's deadline passed: move up what fits, drop what waited too long.
    this.#parked = new ParkedList(() => {
      this.promoteParked();
      const now = monotonicNow();
      for (
        let head = this.#parked.oldest;
        head !== undefined && head.deadline <= now;
        head = this.#parked.oldest
      ) {
        this.#parked.shift();
        onParkExpired(head.kind);
      }
    });
  }

  get queue(): QueueView {
    return this.#queue;
  }

  get parked(): number {
    return this.#parked.length;
  }

  /** Events and encoded bytes counted in the memory bounds: queued, or in the batches being written. */
  get events(): number {
    return this.#queue.length + this.#inFlight.events;
  }

  get bytes(): number {
    return this.#queue.bytes + this.#inFlight.bytes;
  }

  /** True when one more event of `size` bytes fits the memory bounds. */
  fits(size: number): boolean {
    const { maxQueueEvents, maxQueueBytes } = this.#options;
    return this.events < maxQueueEvents && this.bytes + size <= maxQueueBytes;
  }

  enqueue(seq: number, kind: number, bytes: Uint8Array): void {
    this.#queue.push(seq, kind, bytes);
    const { length, bytes: queued } = this.#queue;
    const { maxBatchEvents, maxBatchBytes } = this.#options;
    // Wake the pump only when it has something new to decide: a first event, or a full batch.
    if (
      length === 1 ||
      length === maxBatchEvents ||
      (queued >= maxBatchBytes && queued - bytes.length < maxBatchBytes)
    ) {
      this.#wakeup.wake();
    }
  }

  /**
   * Puts accepted events back into the queue, beyond its bounds (they were accepted), merged with the
   * queued ones in sequence order: the events a spool could not commit, to be delivered from memory.
   */
  restore(events: readonly HeldEvent[]): void {
    if (events.length === 0) return;
    const all: HeldEvent[] = [...events];
    // Copies: the queue reuses its storage once emptied.
    for (let event = this.#queue.shift(); event !== undefined; event = this.#queue.shift()) {
      all.push({ seq: event.seq, kind: event.kind, bytes: event.bytes.slice() });
    }
    all.sort((a, b) => a.seq - b.seq);
    for (const { seq, kind, bytes } of all) this.enqueue(seq, kind, bytes);
  }

  /** Takes the queue's oldest event; its bytes are a view into the queue's storage. */
  shiftQueued(): QueuedEvent | undefined {
    return this.#queue.shift();
  }

  /** Takes the oldest queued event "drop-oldest" may evict; its bytes are a view into the queue's storage. */
  shiftEvictable(): QueuedEvent | undefined {
    return this.#queue.shiftEvictable();
  }

  park(event: Parked): void {
    this.#parked.add(event);
  }

  /** Moves parked events into the queue while there is room, oldest first. */
  promoteParked(): void {
    for (
      let head = this.#parked.oldest;
      head !== undefined && this.fits(head.bytes.length);
      head = this.#parked.oldest
    ) {
      this.#parked.shift();
      this.enqueue(head.seq, head.kind, head.bytes);
    }
  }

  /** Takes the next batch off the queue, stopping before an event numbered `beforeSeq` or later. */
  takeBatch(beforeSeq: number): QueueBatch {
    const { maxBatchEvents, maxBatchBytes } = this.#options;
    const batch = takeQueueBatch(this.#queue, maxBatchEvents, maxBatchBytes, beforeSeq);
    this.#inFlight.add(batch);
    return batch;
  }

  /** A batch being written left memory: acknowledged, or spooled. */
  release(batch: QueueBatch): void {
    this.#inFlight.remove(batch);
  }

  /** A batch being written lost some of its events: `left` is what remains of it. */
  replaceInFlight(batch: QueueBatch, left: QueueBatch): void {
    this.#inFlight.remove(batch);
    this.#inFlight.add(left);
  }

  /** Empties memory: the batches being written, the queue (copied), the parked list, in that order. */
  removeAll(): HeldEvent[] {
    const left: HeldEvent[] = [];
    for (const batch of this.#inFlight.removeAll()) {
      batch.events.forEach((event, i) => {
        left.push({ seq: batch.seqs[i] ?? 0, kind: batch.kinds[i] ?? 0, bytes: event.bytes });
      });
    }
    for (let event = this.#queue.shift(); event !== undefined; event = this.#queue.shift()) {
      left.push({ seq: event.seq, kind: event.kind, bytes: event.bytes.slice() });
    }
    left.push(...this.#parked.removeAll());
    return left;
  }

  /** How many held events are numbered `seq` or lower. */
  countUpTo(seq: number): number {
    return this.#queue.countUpTo(seq) + this.#parked.countUpTo(seq) + this.#inFlight.countUpTo(seq);
  }

  /**
   * True when the queue's head, the oldest parked event or an event of a batch being written is
   * numbered `seq` or lower: cheap checks, usually enough. `queueMinSeq` is the sure one.
   */
  heldUpTo(seq: number): boolean {
    const none = Number.POSITIVE_INFINITY;
    if ((this.#queue.peekSeq() ?? none) <= seq || (this.#parked.oldest?.seq ?? none) <= seq) return true;
    return this.#inFlight.holdsUpTo(seq);
  }

  /** Smallest sequence number in the queue (Infinity when empty); reads every queued header. */
  queueMinSeq(): number {
    return this.#queue.minSeq();
  }

  /** Sets no more timers. */
  stop(): void {
    this.#parked.stop();
  }
}
