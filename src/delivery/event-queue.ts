/** One event taken off the queue. `bytes` is a view into the queue's storage: use it before the next push. */
export interface QueuedEvent {
  /** The pipeline's sequence number (also the event's row id if it is spooled). */
  readonly seq: number;
  /** Index in KIND_NAMES. */
  readonly kind: number;
  /** The encoded event. */
  readonly bytes: Uint8Array;
}

/** Bytes of the record header in front of each event: size (u32), seq (f64), kind (u8). */
const HEADER_BYTES = 13;

interface Chunk {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** Bytes written so far. */
  used: number;
}

/**
 * A FIFO of encoded events stored back to back in large chunks, each behind a 13-byte header.
 *
 * Events are kept encoded, not as objects: a decoded AuditEvent takes several times its protobuf size
 * on the heap, and one small allocation per event would add a fixed overhead on top. With chunks the
 * memory a full queue holds stays close to the sum of its events' encoded sizes, which is what the
 * pipeline's `maxQueueBytes` bounds. A chunk is released once every event in it was taken.
 *
 * The queue does not enforce bounds: the pipeline checks them before pushing.
 * @internal
 */
export class EventQueue {
  readonly #chunkBytes: number;
  /** Oldest first; the last one is where pushes go. */
  readonly #chunks: Chunk[] = [];
  /** Where the oldest event's record starts in the first chunk. */
  #headOffset = 0;
  #length = 0;
  #bytes = 0;

  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
  }

  /** Events in the queue. */
  get length(): number {
    return this.#length;
  }

  /** Sum of the encoded sizes of the events in the queue (headers not counted). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Encoded size of the oldest event, or undefined when empty. */
  peekSize(): number | undefined {
    const head = this.#chunks[0];
    return this.#length === 0 || head === undefined ? undefined : head.view.getUint32(this.#headOffset);
  }

  /** Sequence number of the oldest event, or undefined when empty. */
  peekSeq(): number | undefined {
    const head = this.#chunks[0];
    return this.#length === 0 || head === undefined ? undefined : head.view.getFloat64(this.#headOffset + 4);
  }

  push(seq: number, kind: number, bytes: Uint8Array): void {
    const need = HEADER_BYTES + bytes.length;
    let tail = this.#chunks.at(-1);
    if (tail !== undefined && this.#length === 0) {
      // Empty: write from the start of the last chunk again instead of allocating another one.
      this.#chunks.length = 0;
      this.#chunks.push(tail);
      tail.used = 0;
      this.#headOffset = 0;
    }
    if (tail === undefined || tail.used + need > tail.buf.length) {
      const buf = new Uint8Array(Math.max(this.#chunkBytes, need));
      tail = { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), used: 0 };
      this.#chunks.push(tail);
    }
    tail.view.setUint32(tail.used, bytes.length);
    tail.view.setFloat64(tail.used + 4, seq);
    tail.view.setUint8(tail.used + 12, kind);
    tail.buf.set(bytes, tail.used + HEADER_BYTES);
    tail.used += need;
    this.#length++;
    this.#bytes += bytes.length;
  }

  /** Takes the oldest event, or undefined when empty. */
  shift(): QueuedEvent | undefined {
    const head = this.#chunks[0];
    if (this.#length === 0 || head === undefined) return undefined;
    const at = this.#headOffset;
    const size = head.view.getUint32(at);
    const start = at + HEADER_BYTES;
    const event: QueuedEvent = {
      seq: head.view.getFloat64(at + 4),
      kind: head.view.getUint8(at + 12),
      bytes: head.buf.subarray(start, start + size),
    };
    this.#headOffset = start + size;
    this.#length--;
    this.#bytes -= size;
    if (this.#headOffset >= head.used && this.#chunks.length > 1) {
      this.#chunks.shift();
      this.#headOffset = 0;
    }
    return event;
  }

  /** How many events in the queue are numbered `seq` or lower; reads every header. */
  countUpTo(seq: number): number {
    let count = 0;
    this.#eachSeq((eventSeq) => {
      if (eventSeq <= seq) count++;
    });
    return count;
  }

  /** Smallest sequence number in the queue (Infinity when empty); reads every header. */
  minSeq(): number {
    let min = Number.POSITIVE_INFINITY;
    this.#eachSeq((seq) => {
      min = Math.min(min, seq);
    });
    return min;
  }

  #eachSeq(visit: (seq: number) => void): void {
    let remaining = this.#length;
    let offset = this.#headOffset;
    for (const chunk of this.#chunks) {
      while (remaining > 0 && offset < chunk.used) {
        visit(chunk.view.getFloat64(offset + 4));
        offset += HEADER_BYTES + chunk.view.getUint32(offset);
        remaining--;
      }
      offset = 0;
    }
  }
}
