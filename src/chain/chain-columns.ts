import type { ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";
import type { ChainFinding } from "./verify-types.js";

/** One event of a chain as read, before the verifier keeps what its checks need of it. @internal */
export interface ReadEntry {
  seq: number;
  eventId: string;
  /** `chain.hash` as stored. */
  hash: string;
  prevHash: string;
  /** The hash of the event as read ("" when it cannot be encoded). */
  computed: string;
  /** Why the event as read cannot be encoded (so has no hash), if it cannot. */
  unencodable: string | undefined;
  checkpoint: ChainCheckpointDetail | undefined;
  /** For a checkpoint: the hash its v2 statement names (the event with its signature emptied). */
  signedHash: string | undefined;
  /** Why the event is not a checkpoint as a Recorder writes one, if it claims to be one. */
  notCheckpoint: string | undefined;
}

/** What only a few events have (checkpoints, edited events), kept whole. @internal */
export interface EntryExtra {
  /** The hash as read, when it is not the stored one. */
  computed?: string;
  unencodable?: string;
  notCheckpoint?: string;
  checkpoint?: ChainCheckpointDetail;
  signedHash?: string;
  /** A checkpoint's own link, which its head hash must equal. */
  prevHash?: string;
}

/** Seqs `seq` to `seq + length - 1`, at indexes `index` to `index + length - 1`. */
interface Run {
  seq: number;
  index: number;
  length: number;
}

const COMPUTED_MATCHES = 1;
const LINK_BROKEN = 2;
const SEQ_BYTES = 8;
const HASH_BYTES = 32;
const ID_BYTES = 16;
/** A chunk of `size` events holds their seqs, then hashes, then ids, then flags (one byte each). */
const ENTRY_BYTES = SEQ_BYTES + HASH_BYTES + ID_BYTES + 1;
/** Events per chunk (2^14: under a megabyte a chunk); a full chunk is never copied. */
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
/** The first chunk starts small and doubles up to CHUNK: a trail may hold many short chains. */
const FIRST_CHUNK = 4;
const HEX_HASH = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Runs kept sorted for lookup; a trail shuffled past this many puts its other events in a Map. */
const MAX_RUNS = 1024;

/** `map` with `key` set to `value`; a new map when there was none (most chains need none). */
function put<K, V>(map: Map<K, V> | undefined, key: K, value: V): Map<K, V> {
  return (map ?? new Map<K, V>()).set(key, value);
}

/**
 * The events of one chain as read, one per seq (the first read), packed into chunks of bytes rather
 * than an object per event: 57 bytes an event (its seq, the 32 bytes of its hash, the 16 of a UUID
 * event id, flags). An event's index is its position in the source. Its `prevHash` is checked as
 * soon as the event before it is read, so only a flag is kept. What few events have (a checkpoint,
 * an edit, an id that is no UUID) is kept whole, in maps made when first needed. @internal
 */
export class ChainColumns {
  /** Distinct seqs read. */
  count = 0;
  /** At-least-once duplicates read. */
  duplicates = 0;
  /** Same seq, different event: found while reading. */
  readonly conflicts: ChainFinding[] = [];
  /** True while each new seq is above all before it: the source's order is the seq order. */
  inOrder = true;
  private chunks: Buffer[] = [];
  /** Hashes and ids not in the packed form (not lowercase hex, not a UUID), by index. */
  private oddHashes: Map<number, string> | undefined;
  private oddIds: Map<number, string> | undefined;
  private extras: Map<number, EntryExtra> | undefined;
  /** `prevHash` of events read before the event at the seq below theirs, by seq. */
  private pendingLinks: Map<number, string> | undefined;
  /** Runs of consecutive seqs read one after another, sorted by seq; the common case is one run. */
  private runs: Run[] = [];
  private lastRun: Run | undefined;
  /** Seqs in no run (not safe integers, or past MAX_RUNS), to their index. */
  private sparse: Map<number, number> | undefined;
  private maxSeq = Number.NEGATIVE_INFINITY;
  /** The hash of the last event read, to check the next one's link without decoding it. */
  private lastHash = "";

  constructor(
    readonly chainId: string,
    readonly service: string,
    /** The `instance` of the chain's first event read, "" when it has none. */
    readonly instance: string,
  ) {}

  /** Index of the event at `seq`, or -1. */
  indexOf(seq: number): number {
    const runs = this.runs;
    let low = 0;
    let high = runs.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const run = runs[mid] as Run;
      if (run.seq + run.length <= seq) low = mid + 1;
      else if (run.seq > seq) high = mid;
      else if (Number.isSafeInteger(seq)) return run.index + (seq - run.seq);
      else break;
    }
    return this.sparse?.get(seq) ?? -1;
  }

  /** Keeps an event whose seq was not read before. */
  add(entry: ReadEntry): void {
    const index = this.count++;
    const at = index & (CHUNK - 1);
    const chunk = index >>> CHUNK_BITS;
    if (at === 0) this.sizeChunk(chunk, chunk === 0 ? FIRST_CHUNK : CHUNK);
    else if (at === this.sizeOf(chunk)) this.sizeChunk(chunk, at * 2);
    const data = this.chunks[chunk] as Buffer;
    const size = data.length / ENTRY_BYTES;
    const { seq } = entry;
    data.writeDoubleLE(seq, at * SEQ_BYTES);
    if (this.inOrder && !(seq > this.maxSeq)) this.inOrder = false;
    if (seq > this.maxSeq) this.maxSeq = seq;
    this.place(seq, index);
    if (HEX_HASH.test(entry.hash)) data.write(entry.hash, size * SEQ_BYTES + at * HASH_BYTES, "hex");
    else this.oddHashes = put(this.oddHashes, index, entry.hash);
    if (UUID.test(entry.eventId)) {
      data.write(entry.eventId.replaceAll("-", ""), size * (SEQ_BYTES + HASH_BYTES) + at * ID_BYTES, "hex");
    } else this.oddIds = put(this.oddIds, index, entry.eventId);
    let flags = entry.computed === entry.hash ? COMPUTED_MATCHES : 0;
    if (Number.isSafeInteger(seq) && seq >= 1) flags |= this.link(seq, entry);
    data[size * (ENTRY_BYTES - 1) + at] = flags;
    this.keepExtra(index, entry);
    this.lastHash = entry.hash;
  }

  /** The seq of the event at `index`. */
  seq(index: number): number {
    const data = this.chunks[index >>> CHUNK_BITS];
    return data === undefined ? Number.NaN : data.readDoubleLE((index & (CHUNK - 1)) * SEQ_BYTES);
  }

  /** The id of the event at `index`: decoded again, so only for what a finding names. */
  eventId(index: number): string {
    const odd = this.oddIds?.get(index);
    if (odd !== undefined) return odd;
    const hex = this.bytes(index, SEQ_BYTES + HASH_BYTES, ID_BYTES);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** `chain.hash` as stored. */
  hash(index: number): string {
    return this.oddHashes?.get(index) ?? this.bytes(index, SEQ_BYTES, HASH_BYTES);
  }

  /** The hash of the event as read ("" when it cannot be encoded). */
  computed(index: number): string {
    return this.computedMatches(index) ? this.hash(index) : (this.extras?.get(index)?.computed ?? "");
  }

  /** True when the hash of the event as read is its stored one. */
  computedMatches(index: number): boolean {
    return (this.flag(index) & COMPUTED_MATCHES) !== 0;
  }

  /** True when `prevHash` is not the hash of the event at the seq below (or not "" at seq 1). */
  linkBroken(index: number): boolean {
    return (this.flag(index) & LINK_BROKEN) !== 0;
  }

  /** What the event at `index` holds beyond the columns, if anything (a checkpoint, an edit). */
  extra(index: number): EntryExtra | undefined {
    return this.extras?.get(index);
  }

  /** Indexes in seq order (the order `Array.prototype.sort` gives by seq). */
  bySeq(): number[] {
    const order = Array.from({ length: this.count }, (_, index) => index);
    return this.inOrder ? order : order.sort((a, b) => this.seq(a) - this.seq(b));
  }

  /**
   * LINK_BROKEN when the event's `prevHash` is not the hash of the event at the seq below, once both
   * are read; flags the event above instead when it was read first (and waited in `pendingLinks`).
   */
  private link(seq: number, entry: ReadEntry): number {
    let broken = false;
    const previous = seq === 1 ? -1 : this.indexOf(seq - 1);
    if (seq === 1) broken = entry.prevHash !== "";
    else if (previous === -1) this.pendingLinks = put(this.pendingLinks, seq, entry.prevHash);
    else if (previous === this.count - 2) broken = entry.prevHash !== this.lastHash;
    else broken = entry.prevHash !== this.hash(previous);
    const nextPrev = this.pendingLinks?.get(seq + 1);
    if (nextPrev !== undefined) {
      this.pendingLinks?.delete(seq + 1);
      if (nextPrev !== entry.hash) this.setFlag(this.indexOf(seq + 1), LINK_BROKEN);
    }
    return broken ? LINK_BROKEN : 0;
  }

  private keepExtra(index: number, entry: ReadEntry): void {
    const { computed, hash, unencodable, notCheckpoint, checkpoint } = entry;
    if (
      computed === hash &&
      unencodable === undefined &&
      notCheckpoint === undefined &&
      checkpoint === undefined
    )
      return; // the common event: nothing beyond the columns
    const extra: EntryExtra = {};
    if (computed !== hash) extra.computed = computed;
    if (unencodable !== undefined) extra.unencodable = unencodable;
    if (notCheckpoint !== undefined) extra.notCheckpoint = notCheckpoint;
    if (checkpoint !== undefined) {
      extra.checkpoint = checkpoint;
      extra.prevHash = entry.prevHash;
      if (entry.signedHash !== undefined) extra.signedHash = entry.signedHash;
    }
    this.extras = put(this.extras, index, extra);
  }

  /** Extends the run the last event ended, or starts one, or keeps the seq in `sparse`. */
  private place(seq: number, index: number): void {
    const last = this.lastRun;
    const continues =
      last !== undefined && last.index + last.length === index && last.seq + last.length === seq;
    if (continues && Number.isSafeInteger(seq)) {
      last.length++;
      return;
    }
    this.lastRun = undefined;
    if (!Number.isSafeInteger(seq) || this.runs.length === MAX_RUNS) {
      this.sparse = put(this.sparse, seq, index);
      return;
    }
    const run = { seq, index, length: 1 };
    this.lastRun = run;
    // Made with its one element, not grown: a trail may hold many chains of a few events.
    if (this.runs.length === 0) {
      this.runs = [run];
      return;
    }
    let at = this.runs.length;
    while (at > 0 && (this.runs[at - 1] as Run).seq > seq) at--;
    this.runs.splice(at, 0, run);
  }

  /** `length` bytes, as hex, of the column that starts at `size * columnOffset` in the event's chunk. */
  private bytes(index: number, columnOffset: number, length: number): string {
    const data = this.chunks[index >>> CHUNK_BITS];
    if (data === undefined) return "";
    const start = (data.length / ENTRY_BYTES) * columnOffset + (index & (CHUNK - 1)) * length;
    return data.toString("hex", start, start + length);
  }

  private flag(index: number): number {
    const data = this.chunks[index >>> CHUNK_BITS];
    if (data === undefined) return 0;
    return data[(data.length / ENTRY_BYTES) * (ENTRY_BYTES - 1) + (index & (CHUNK - 1))] ?? 0;
  }

  private setFlag(index: number, flag: number): void {
    const data = this.chunks[index >>> CHUNK_BITS];
    if (data === undefined) return;
    const at = (data.length / ENTRY_BYTES) * (ENTRY_BYTES - 1) + (index & (CHUNK - 1));
    data[at] = (data[at] ?? 0) | flag;
  }

  private sizeOf(chunk: number): number {
    return (this.chunks[chunk]?.length ?? 0) / ENTRY_BYTES;
  }

  /** Starts a chunk of `size` events, or, for the first one, grows it to `size` (each column copied). */
  private sizeChunk(chunk: number, size: number): void {
    const data = Buffer.alloc(size * ENTRY_BYTES);
    const old = this.chunks[chunk];
    if (old !== undefined) {
      const oldSize = old.length / ENTRY_BYTES;
      let from = 0;
      let to = 0;
      for (const width of [SEQ_BYTES, HASH_BYTES, ID_BYTES, 1]) {
        old.copy(data, to, from, from + oldSize * width);
        from += oldSize * width;
        to += size * width;
      }
    }
    if (this.chunks.length === 0) this.chunks = [data];
    else this.chunks[chunk] = data;
  }
}
