/**
 * A partition's log in memory: record batches in offset order, the log start offset (raised by
 * retention, here `deleteBelow`) and the high watermark (the next offset; one replica, so every
 * appended batch is committed at once).
 */
import { placeBatch, type RecordBatch, recordCount, type StoredRecord } from "./record-batch.js";

/** The leader epoch of every partition: the stand-in never changes leaders. */
export const LEADER_EPOCH = 0;

/** One partition of a topic. */
export class PartitionLog {
  private readonly batches: RecordBatch[] = [];
  private readonly appendListeners = new Set<() => void>();
  /** First offset still in the log. */
  logStartOffset = 0n;
  /** Offset the next record gets. */
  highWatermark = 0n;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Appends the batches of one produce request; resolves to the base offset of the first. */
  append(batches: readonly Buffer[]): bigint {
    const base = this.highWatermark;
    for (const batch of batches) {
      this.batches.push(placeBatch(batch, this.highWatermark, LEADER_EPOCH));
      this.highWatermark += BigInt(recordCount(batch));
    }
    for (const listener of [...this.appendListeners]) listener();
    return base;
  }

  /**
   * Batches from the one holding `offset` on, at most `maxBytes` of them but always the first (as
   * Kafka does, so a batch larger than the limit still makes progress).
   */
  read(offset: bigint, maxBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    for (const batch of this.batches) {
      if (batch.lastOffset < offset) continue;
      if (out.length > 0 && bytes + batch.bytes.length > maxBytes) break;
      out.push(batch.bytes);
      bytes += batch.bytes.length;
    }
    return out;
  }

  /** Removes the records below `offset` (DeleteRecords, retention): the log then starts there. */
  deleteBelow(offset: bigint): void {
    const start = offset > this.highWatermark ? this.highWatermark : offset;
    if (start <= this.logStartOffset) return;
    this.logStartOffset = start;
    while ((this.batches[0]?.lastOffset ?? start) < start) this.batches.shift();
  }

  /** The records from the log start on (empty for batches of unread compressions). */
  records(): StoredRecord[] {
    return this.batches.flatMap((b) => b.records).filter((r) => r.offset >= this.logStartOffset);
  }

  /** The first offset whose batch has a timestamp at or after `timestamp`, else the high watermark. */
  offsetForTime(timestamp: bigint): bigint {
    const batch = this.batches.find((b) => b.maxTimestamp >= timestamp);
    if (batch === undefined) return this.highWatermark;
    // The batch may begin below the log start (deleted up to inside it); bigints have no Math.max.
    if (batch.baseOffset < this.logStartOffset) return this.logStartOffset;
    return batch.baseOffset;
  }

  /** Calls `listener` on every append until the returned function is called. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }
}

/** A topic: its partitions and the largest record batch it takes. */
export interface Topic {
  readonly name: string;
  readonly partitions: readonly PartitionLog[];
  /** Like max.message.bytes: a larger record batch is refused with MESSAGE_TOO_LARGE. */
  readonly maxMessageBytes: number;
}
