import { EventQueue, type QueuedEvent } from "./event-queue.js";

/**
 * The queue of the delivery pipeline, kept as two FIFOs: the events "drop-oldest" may evict, and the
 * others (kept kinds, kinds whose policy keeps its events). Read from the head it is one queue: the
 * head is whichever of the two heads has the lower sequence number. Eviction takes the head of the
 * first FIFO, so a kept event at the head no longer stops it, and costs no more than a shift.
 *
 * Without a "drop-oldest" policy every event goes to the second FIFO: one queue, as before.
 * @internal
 */
export class EvictableQueue {
  /** Indexed by kind: true when "drop-oldest" may evict its events. */
  readonly #evictable: readonly boolean[];
  readonly #evictables: EventQueue;
  readonly #others: EventQueue;

  constructor(chunkBytes: number, evictable: readonly boolean[]) {
    this.#evictable = evictable;
    this.#evictables = new EventQueue(chunkBytes);
    this.#others = new EventQueue(chunkBytes);
  }

  get length(): number {
    return this.#evictables.length + this.#others.length;
  }

  /** Sum of the encoded sizes of the events in the queue. */
  get bytes(): number {
    return this.#evictables.bytes + this.#others.bytes;
  }

  peekSize(): number | undefined {
    return this.#head().peekSize();
  }

  peekSeq(): number | undefined {
    return this.#head().peekSeq();
  }

  push(seq: number, kind: number, bytes: Uint8Array): void {
    (this.#evictable[kind] === true ? this.#evictables : this.#others).push(seq, kind, bytes);
  }

  /** Takes the oldest event, or undefined when empty; its bytes are a view into the queue's storage. */
  shift(): QueuedEvent | undefined {
    return this.#head().shift();
  }

  /** Takes the oldest event "drop-oldest" may evict, or undefined when there is none. */
  shiftEvictable(): QueuedEvent | undefined {
    return this.#evictables.shift();
  }

  /** How many events in the queue are numbered `seq` or lower; reads every header. */
  countUpTo(seq: number): number {
    return this.#evictables.countUpTo(seq) + this.#others.countUpTo(seq);
  }

  /** Smallest sequence number in the queue (Infinity when empty); reads every header. */
  minSeq(): number {
    return Math.min(this.#evictables.minSeq(), this.#others.minSeq());
  }

  /** The FIFO whose head is the oldest event (either one when both are empty). */
  #head(): EventQueue {
    const seq = this.#evictables.peekSeq();
    if (seq === undefined) return this.#others;
    return seq < (this.#others.peekSeq() ?? Number.POSITIVE_INFINITY) ? this.#evictables : this.#others;
  }
}
