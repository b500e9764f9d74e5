import type { OldRows } from "./old-rows.js";
import { type ChainState, checkpointAbove, endOf, UNCHAINED } from "./prune-chains.js";

/**
 * The order a plan's older rows are deleted in, and the cuts between them. `next` goes in the order
 * the rows were read (deletes near each other in the store go together), leaving to the end the rows
 * of each chain without checkpoints that goes whole: those it then deletes from the chain's highest
 * seq down, so the chain left meanwhile ends early, which verifies. `toCut` completes each chain with
 * checkpoints that `next` left partway: its rows below its next cut (its next older checkpoint, or
 * its prefix's end), going on in the order read. Keeps 5 bytes per older row: a mark, and its place
 * among its chain's rows by seq.
 * @internal
 */
export class DeleteWalk {
  /** Per row: 1 once handed out. */
  private readonly taken: Uint8Array;
  /** The chained rows by chain, in seq order within each: chain i's from `starts[i]` to `starts[i + 1]`. */
  private readonly bySeq: Uint32Array;
  private readonly starts: Uint32Array;
  /** Per chain: where in `bySeq` its lowest row not known to be handed out is. */
  private readonly low: Uint32Array;
  /** The chains deleted from their highest seq down, after all other rows; and per chain, 1 if one. */
  private readonly down: number[];
  private readonly isDown: Uint8Array;
  /** Chains with checkpoints that rows were handed out of since they were last at a cut. */
  private readonly open = new Set<number>();
  /** The next row read that `next` looks at; then the chain in `down`, and where in `bySeq` it is. */
  private cursor = 0;
  private downAt = 0;
  private downPos = -1;
  /** Where `toCut` is in the order read, from `cursor` on; -1 between its calls of one transaction's end. */
  private closing = -1;

  constructor(
    private readonly chains: readonly ChainState[],
    private readonly old: OldRows,
  ) {
    for (const chain of chains) chain.oldCheckpoints.sort((a, b) => a - b);
    this.taken = new Uint8Array(old.length);
    // A counting sort by chain (read order within each), then by seq where a chain was stored out of order.
    const starts = new Uint32Array(chains.length + 1);
    for (let r = 0; r < old.length; r++) {
      const index = old.chain[r] as number;
      if (index !== UNCHAINED) starts[index + 1] = (starts[index + 1] as number) + 1;
    }
    for (let i = 0; i < chains.length; i++) starts[i + 1] = (starts[i + 1] as number) + (starts[i] as number);
    const bySeq = new Uint32Array(starts[chains.length] as number);
    const fill = starts.slice(0, chains.length);
    for (let r = 0; r < old.length; r++) {
      const index = old.chain[r] as number;
      if (index === UNCHAINED) continue;
      const at = fill[index] as number;
      bySeq[at] = r;
      fill[index] = at + 1;
    }
    const seq = old.seq;
    for (let i = 0; i < chains.length; i++) {
      const rows = bySeq.subarray(starts[i], starts[i + 1]);
      if (rows.some((r, k) => k > 0 && (seq[r] as number) < (seq[rows[k - 1] as number] as number)))
        rows.sort((a, b) => (seq[a] as number) - (seq[b] as number) || a - b);
    }
    this.bySeq = bySeq;
    this.starts = starts;
    this.low = starts.slice(0, chains.length);
    this.down = [];
    this.isDown = new Uint8Array(chains.length);
    for (const [i, chain] of chains.entries()) {
      if (chain.signed || endOf(chain) !== Number.POSITIVE_INFINITY) continue;
      this.down.push(i);
      this.isDown[i] = 1;
    }
  }

  next(): number | undefined {
    while (this.cursor < this.old.length) {
      const r = this.cursor++;
      if (this.isDown[this.old.chain[r] as number] === 1) continue; // below, from the top
      const position = this.take(r);
      if (position !== undefined) return position;
    }
    while (this.downAt < this.down.length) {
      const index = this.down[this.downAt] as number;
      if (this.downPos === -1) this.downPos = this.starts[index + 1] as number;
      if (this.downPos > (this.starts[index] as number)) {
        const position = this.take(this.bySeq[--this.downPos] as number);
        if (position !== undefined) return position;
      } else {
        this.downAt++;
        this.downPos = -1;
      }
    }
    return undefined;
  }

  toCut(): number | undefined {
    if (this.closing === -1) {
      for (const index of this.open) if (this.atCut(index)) this.open.delete(index);
      this.closing = this.cursor;
    }
    // On in the order read, taking only the open chains' rows below their cut; the rows passed over
    // are `next`'s in the next transaction.
    while (this.open.size > 0 && this.closing < this.old.length) {
      const r = this.closing++;
      const index = this.old.chain[r] as number;
      if (!this.open.has(index) || this.taken[r] === 1 || (this.old.seq[r] as number) >= this.cutOf(index))
        continue;
      const position = this.take(r);
      if (this.atCut(index)) this.open.delete(index);
      return position;
    }
    // Left open: a chain taken from the top that has a checkpoint since (one stored meanwhile).
    for (const index of this.open) {
      this.atCut(index);
      const r = this.bySeq[this.low[index] as number];
      if (r !== undefined && (this.old.seq[r] as number) < this.cutOf(index)) return this.take(r);
      this.open.delete(index);
    }
    this.closing = -1;
    return undefined;
  }

  /** Where a chain `next` took rows of can be cut next: its next older checkpoint, or its prefix's end. */
  private cutOf(index: number): number {
    const chain = this.chains[index] as ChainState;
    return Math.min(endOf(chain), checkpointAbove(chain, chain.lastTaken));
  }

  /** Whether every row of the chain below its cut is handed out; moves its `low` past those that are. */
  private atCut(index: number): boolean {
    const end = this.starts[index + 1] as number;
    let at = this.low[index] as number;
    while (at < end && this.taken[this.bySeq[at] as number] === 1) at++;
    this.low[index] = at;
    return at === end || (this.old.seq[this.bySeq[at] as number] as number) >= this.cutOf(index);
  }

  /** Hands out row `r`: its position, or undefined when it was handed out already or is kept. */
  private take(r: number): number | undefined {
    if (this.taken[r] === 1) return undefined;
    const index = this.old.chain[r] as number;
    const chain = this.chains[index];
    if (chain !== undefined) {
      const seq = this.old.seq[r] as number;
      if (seq >= endOf(chain)) return undefined; // kept now, and then for good: ends are only lowered
      chain.lastTaken = Math.max(chain.lastTaken, seq);
      if (chain.signed) this.open.add(index);
    }
    this.taken[r] = 1;
    return this.old.position[r] as number;
  }
}
