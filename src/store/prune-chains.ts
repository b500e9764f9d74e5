// What a prune plan knows of each chain, shared by the plan and the order it deletes in.

/** What the plan keeps of one chain while reading; of its newer rows only what bounds the prefix. @internal */
export interface ChainState {
  /** Seqs of its checkpoints older than the cutoff (one per many events). */
  oldCheckpoints: number[];
  /** Lowest seq of an event read not older than the cutoff. */
  firstNewer: number;
  /** Lowest seq of such an event, or of one stored after the plan's rows, that is a checkpoint. */
  firstNewerCheckpoint: number;
  /** Lowest seq of an event stored after the plan's rows. */
  firstArrived: number;
  /** Whether any of its events read is a checkpoint. */
  signed: boolean;
  /** Highest seq read (`add`), and whether every event read at it is a final checkpoint. */
  lastSeq: number;
  endsFinal: boolean;
  /** Lowest seq read (`add`), and how many of its rows were read. */
  firstSeq: number;
  rows: number;
  /**
   * The lowest seq above `firstSeq` that no row read has (`findGaps`): `lastSeq + 1` when its rows
   * run without a gap; Infinity for a chain first seen in a row stored after the plan's rows.
   */
  firstGap: number;
  /** The seq its prefix ends before (`endOf`); NaN until computed again after a change. */
  end: number;
  /** Highest seq `next` handed out (deleted by now); -Infinity before the first. */
  lastTaken: number;
}

/**
 * The seq a chain's prefix ends before (kept): the last checkpoint at or below the first newer (or
 * arrived) event or, in a chain with checkpoints, its first missing seq, whichever is lowest; without
 * any checkpoint, the first newer (or arrived) event itself. Only ever lowered by rows that arrive.
 * A missing seq bounds every signed chain, newer events or not: a backlog of it may still arrive (an
 * ingester's redelivery), and what comes must follow a kept checkpoint, or verify reads the deleted
 * seqs around it as missing. Infinity (deleted whole) only when nothing bounds it: it is unsigned, or
 * has ended (its final checkpoint is its highest seq and no seq below it is missing).
 * @internal
 */
export function endOf(chain: ChainState): number {
  if (Number.isNaN(chain.end)) {
    let bound = Math.min(chain.firstNewer, chain.firstArrived);
    const ended = chain.endsFinal && chain.firstGap > chain.lastSeq;
    if (chain.signed && !ended) bound = Math.min(bound, chain.firstGap);
    let end = chain.signed ? 0 : bound;
    if (chain.firstNewerCheckpoint === bound) end = bound;
    for (const seq of chain.oldCheckpoints) if (seq <= bound && seq > end) end = seq;
    chain.end = end;
  }
  return chain.end;
}

/** The lowest of a chain's (sorted) older checkpoints above `seq`, or Infinity. @internal */
export function checkpointAbove(chain: ChainState, seq: number): number {
  const seqs = chain.oldCheckpoints;
  let low = 0;
  let high = seqs.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((seqs[mid] as number) <= seq) low = mid + 1;
    else high = mid;
  }
  return seqs[low] ?? Number.POSITIVE_INFINITY;
}

/** An unchained row's chain number. @internal */
export const UNCHAINED = 0xffffffff;
