import type { EncodedEvent } from "../emitters/sink.js";
import type { SpoolRow } from "./spool.js";

/** A batch taken from the queue: counted in the memory bounds until acknowledged or spooled. @internal */
export interface QueueBatch {
  readonly source: "queue";
  /**
   * In queue order: ascending, except that a parked event promoted behind newer ones comes after
   * them (see DeliveryState's settled check).
   */
  readonly seqs: number[];
  readonly kinds: number[];
  /** The batch's own copies of the bytes (the queue reuses its storage). */
  readonly events: EncodedEvent[];
  readonly bytes: number;
}

/** A batch read from the spool: its rows are deleted once acknowledged. @internal */
export interface SpoolBatch {
  readonly source: "spool";
  readonly rows: SpoolRow[];
  readonly events: EncodedEvent[];
}

/** A batch on its way to the sink. @internal */
export type Batch = QueueBatch | SpoolBatch;

/**
 * The batches taken from the queue and not yet acknowledged or spooled (at most maxInFlightBatches),
 * with their events and bytes: they stay counted in the memory bounds while they are written.
 * @internal
 */
export class InFlightBatches {
  readonly #batches = new Set<QueueBatch>();
  #events = 0;
  #bytes = 0;

  get events(): number {
    return this.#events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(batch: QueueBatch): void {
    this.#batches.add(batch);
    this.#events += batch.seqs.length;
    this.#bytes += batch.bytes;
  }

  /** The batch left memory: acknowledged, or moved to the spool. */
  remove(batch: QueueBatch): void {
    if (!this.#batches.delete(batch)) return;
    this.#events -= batch.seqs.length;
    this.#bytes -= batch.bytes;
  }

  /** Removes every batch and returns them, in the order they were taken. */
  removeAll(): QueueBatch[] {
    const batches = [...this.#batches];
    for (const batch of batches) this.remove(batch);
    return batches;
  }

  /** How many of their events are numbered `seq` or lower. */
  countUpTo(seq: number): number {
    let count = 0;
    for (const batch of this.#batches) count += batch.seqs.filter((batchSeq) => batchSeq <= seq).length;
    return count;
  }

  /** True when one of them holds an event numbered `seq` or lower. */
  holdsUpTo(seq: number): boolean {
    // Every seq, not the first: a promoted parked event can follow newer ones in its batch.
    for (const batch of this.#batches) {
      for (const batchSeq of batch.seqs) if (batchSeq <= seq) return true;
    }
    return false;
  }
}
