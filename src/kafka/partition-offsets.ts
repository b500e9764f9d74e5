/** A message handed out, until every message before it in its partition is done. */
interface Pending<T> {
  readonly offset: bigint;
  readonly item: T;
  done: boolean;
}

/** One partition's handed-out messages in offset order; `epoch` changes when its reading starts over. */
interface Partition<T> {
  epoch: number;
  pending: Pending<T>[];
}

/**
 * Which messages of each partition may be committed. Kafka commits one offset per partition (every
 * message below it is done), so a message done out of order waits until those before it are done too.
 * When a partition is read again from an earlier offset (a rewind, a rebalance), its messages handed
 * out before belong to an old epoch: marking them done changes nothing, they come back and are
 * stored again as duplicates, which the store skips.
 * @internal
 */
export class PartitionOffsets<T> {
  readonly #partitions = new Map<string, Partition<T>>();
  #epochs = 0;

  /** Records a message handed out; resolves to its epoch, to give back to `done`. */
  handOut(partition: string, offset: bigint, item: T): number {
    let state = this.#partitions.get(partition);
    const last = state?.pending[state.pending.length - 1];
    if (state === undefined || (last !== undefined && offset <= last.offset)) {
      state = { epoch: ++this.#epochs, pending: [] };
      this.#partitions.set(partition, state);
    }
    state.pending.push({ offset, item, done: false });
    return state.epoch;
  }

  /**
   * Marks a message done. Returns the item of the last message of the partition's run of done
   * messages, which now may be committed (its offset + 1), or undefined when the run did not grow.
   */
  done(partition: string, epoch: number, offset: bigint): T | undefined {
    const state = this.#partitions.get(partition);
    if (state === undefined || state.epoch !== epoch) return undefined;
    const entry = find(state.pending, offset);
    if (entry === undefined) return undefined;
    entry.done = true;
    let end = 0;
    while (end < state.pending.length && state.pending[end]?.done === true) end++;
    if (end === 0) return undefined;
    const committable = state.pending[end - 1]?.item;
    state.pending.splice(0, end);
    return committable;
  }

  /** Forgets every partition: what was handed out before is of an old epoch. */
  reset(): void {
    this.#partitions.clear();
  }
}

/** The pending message at `offset` (binary search: offsets ascend). */
function find<T>(pending: readonly Pending<T>[], offset: bigint): Pending<T> | undefined {
  let low = 0;
  let high = pending.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const entry = pending[middle];
    if (entry === undefined) return undefined;
    if (entry.offset === offset) return entry;
    if (entry.offset < offset) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}
