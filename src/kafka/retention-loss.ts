/** A message handed out and not yet stored or handed back, in as many copies as are out. */
interface Out {
  copies: number;
  /** Found below the log start while out: lost unless a copy is stored. */
  gone: boolean;
}

/** One partition's accounting. */
interface PartitionLoss {
  /** Offsets stored (acknowledged or dead-lettered) at or above the last commit seen. */
  readonly stored: OffsetRanges;
  readonly out: Map<bigint, Out>;
  /** Offsets below it are already accounted for by an earlier `removed`. */
  counted: bigint;
}

/**
 * Counts the messages of a topic's partitions the broker removed (retention limits, DeleteRecords)
 * before they were stored. Kafka says so when a read starts below a partition's log start offset
 * (OFFSET_OUT_OF_RANGE): the messages from the group's committed offset up to the log start are
 * gone, except those this source stored meanwhile (a commit that failed or has not gone out yet) and
 * those still out (counted when handed back, unless a copy of them is stored). Never counts a message
 * twice: offsets below a partition's last `removed` log start are not counted again.
 * @internal
 */
export class RetentionLoss {
  readonly #partitions = new Map<number, PartitionLoss>();
  #lost = 0;

  /** Messages counted as removed before they were stored. */
  get lost(): number {
    return this.#lost;
  }

  /** A message was handed out. */
  handedOut(partition: number, offset: bigint): void {
    const out = this.#partition(partition).out;
    const entry = out.get(offset);
    if (entry === undefined) out.set(offset, { copies: 1, gone: false });
    else entry.copies++;
  }

  /** A message handed out is stored (acknowledged, or dead-lettered). */
  stored(partition: number, offset: bigint): void {
    const state = this.#partition(partition);
    state.stored.add(offset);
    this.#resolve(state, offset);
  }

  /** A message handed out comes back unstored (its insert or dead letter failed). */
  handedBack(partition: number, offset: bigint): void {
    const state = this.#partition(partition);
    if (this.#resolve(state, offset) && !state.stored.has(offset)) this.#lost++;
  }

  /** The group committed `offset` on a partition: what is stored below it needs no more keeping. */
  committed(partition: number, offset: bigint): void {
    this.#partitions.get(partition)?.stored.dropBelow(offset);
  }

  /**
   * The broker removed the partition's messages below `logStart` while the group's committed offset
   * was `from`: counts those of them neither stored nor still out.
   */
  removed(partition: number, from: bigint, logStart: bigint): void {
    const state = this.#partition(partition);
    const base = from > state.counted ? from : state.counted;
    if (base >= logStart) return;
    let lost = logStart - base - state.stored.count(base, logStart);
    for (const [offset, entry] of state.out)
      if (offset >= base && offset < logStart && !state.stored.has(offset)) {
        entry.gone = true;
        lost--;
      }
    this.#lost += Number(lost);
    state.counted = logStart;
    state.stored.dropBelow(logStart);
  }

  #partition(partition: number): PartitionLoss {
    let state = this.#partitions.get(partition);
    if (state === undefined) {
      state = { stored: new OffsetRanges(), out: new Map(), counted: 0n };
      this.#partitions.set(partition, state);
    }
    return state;
  }

  /** One copy of a message came back; true when it was the last one out and the log lost it. */
  #resolve(state: PartitionLoss, offset: bigint): boolean {
    const entry = state.out.get(offset);
    if (entry === undefined) return false;
    if (--entry.copies > 0) return false;
    state.out.delete(offset);
    return entry.gone;
  }
}

/**
 * Offsets as sorted, disjoint, half-open ranges: stored messages mostly extend the last one, so a
 * partition keeps a few ranges (one more per gap: a compacted record, a transaction marker).
 * @internal
 */
export class OffsetRanges {
  #ranges: [bigint, bigint][] = [];

  add(offset: bigint): void {
    const last = this.#ranges[this.#ranges.length - 1];
    if (last !== undefined && offset === last[1]) last[1]++;
    else if (last === undefined || offset > last[1]) this.#ranges.push([offset, offset + 1n]);
    else if (!this.has(offset)) {
      this.#ranges.push([offset, offset + 1n]);
      this.#ranges.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      this.#merge();
    }
  }

  has(offset: bigint): boolean {
    return this.#ranges.some(([start, end]) => offset >= start && offset < end);
  }

  /** How many offsets in [from, to) are in. */
  count(from: bigint, to: bigint): bigint {
    let n = 0n;
    for (const [start, end] of this.#ranges) {
      const low = start > from ? start : from;
      const high = end < to ? end : to;
      if (high > low) n += high - low;
    }
    return n;
  }

  dropBelow(offset: bigint): void {
    this.#ranges = this.#ranges.filter(([, end]) => end > offset);
    const first = this.#ranges[0];
    if (first !== undefined && first[0] < offset) first[0] = offset;
  }

  #merge(): void {
    const merged: [bigint, bigint][] = [];
    for (const range of this.#ranges) {
      const last = merged[merged.length - 1];
      if (last === undefined || range[0] > last[1]) merged.push(range);
      else if (range[1] > last[1]) last[1] = range[1];
    }
    this.#ranges = merged;
  }
}

/**
 * Whether a read failed as below a partition's log start or past its end (OFFSET_OUT_OF_RANGE, in any
 * of the errors `@platformatic/kafka` nests: a ResponseError's `errors`, a `cause`). The 1.x client
 * does not retry it and ends its stream with it.
 * @internal
 */
export function outOfRange(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { apiId, errors, cause } = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (apiId === "OFFSET_OUT_OF_RANGE") return true;
  if (Array.isArray(errors) && errors.some(outOfRange)) return true;
  return cause !== undefined && cause !== error && outOfRange(cause);
}
