import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { chainLinkOf } from "./chain-link.js";
import { OldRows } from "./old-rows.js";

/** Options of a store's `prune` and `pruneReport`. */
export interface PruneOptions {
  /** Events that occurred (`occurredAt`) before this time may be deleted. Required. */
  before: Date;
  /**
   * Delete every event before `before`, whatever chain it is in, as earlier versions did (for a
   * retention deadline that nothing may outlive). `grpc-audit verify` then reports a `missing` range
   * for each chain that lost events. Default: false (each chain keeps the signed checkpoint it then
   * starts from; see `PruneReport.kept`).
   */
  cutChains?: boolean;
  /** Only count: delete nothing (a read-only store takes it). Default: false. */
  dryRun?: boolean;
}

/** What a prune deleted (or, with `dryRun`, would delete) and which older events it kept, and why. */
export interface PruneReport {
  /** Events deleted (with `dryRun`: that a prune would delete). */
  deleted: number;
  /** Events older than `before` that were kept, by reason; all 0 with `cutChains`. */
  kept: {
    /** Signed checkpoints a pruned chain now starts from: `verify` checks the deleted prefix against them. */
    anchors: number;
    /**
     * Events of a chain with checkpoints that no checkpoint it can be cut at follows yet: a chain is
     * cut at its last checkpoint older than `before` and below its first missing seq. A later prune
     * deletes them once one follows them: a backlog still on its way fills a gap, a hand-deleted seq
     * never does, and a chain whose Recorder was killed never gets its final checkpoint: only
     * `cutChains` deletes those.
     */
    afterLastCheckpoint: number;
    /** Events stamped earlier than an event before them in their chain that is not older than `before`. */
    behindNewer: number;
    /**
     * Present when not 0: older events stored while the prune ran (an ingester's backlog, a delivery
     * spool's replay), and older events after one in their chain. That prune never deletes them (it
     * cuts their chain before the last checkpoint at or below them); the next one does.
     */
    arrived?: number;
  };
  /** Chains whose deleted prefix ends right before a kept signed checkpoint: `verify` notes them as pruned. */
  anchoredChains: number;
  /**
   * Chains every event of which was older than `before`, deleted whole: those that ended in their
   * final checkpoint (their Recorder closed) with no seq missing before it, and those without any
   * checkpoint. Nothing of them is left for `verify`. Not counted in `anchoredChains` or
   * `unsignedChains`. Any other chain with checkpoints may still grow (or a backlog of it arrive): it
   * keeps the last checkpoint before its first missing seq, as an anchor.
   */
  wholeChains: number;
  /** Chains without any checkpoint that lost events (a Recorder without a signing key): `verify` reports `missing` from seq 1. */
  unsignedChains: number;
  /** Of `deleted`: events without a chain, or whose stored bytes cannot be read, deleted by time alone. */
  unchained: number;
}

/**
 * One stored row as the prune plan reads it: its insertion position, time and event bytes, and the
 * number of the part of the store that holds it (a partition), which the plan only hands back.
 * @internal
 */
export interface PruneRow {
  position: number;
  occurredAtMs: number;
  event: Uint8Array;
  /** Default 0. */
  part?: number;
}

/**
 * The rows a prune deletes, grouped by part (in the order read within each), with each one's part,
 * and the report.
 * @internal
 */
export interface PrunePlan {
  positions: Float64Array;
  parts: Uint32Array;
  report: PruneReport;
}

/** The option names of `PruneOptions` (the record's type makes a missing or extra name a compile error). */
const PRUNE_OPTION_NAMES = Object.keys({ before: 1, cutChains: 1, dryRun: 1 } satisfies Record<
  keyof PruneOptions,
  1
>);

/** Checks prune options the same way in both stores. @internal */
export function checkPruneOptions(options: PruneOptions, store: string): void {
  if (typeof options === "object" && options !== null)
    rejectUnknownOptions(`${store}: prune`, options, PRUNE_OPTION_NAMES);
  const before = options?.before;
  if (!(before instanceof Date) || !Number.isFinite(before.getTime())) {
    throw new AuditConfigError(`${store}: prune needs \`before\`, a valid Date`);
  }
  for (const name of ["cutChains", "dryRun"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "boolean") {
      throw new AuditConfigError(`${store}: prune's \`${name}\` must be a boolean`);
    }
  }
}

/** A report of nothing kept: what a prune with `cutChains` returns. @internal */
export function cutReport(deleted: number): PruneReport {
  const kept = { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 };
  return { deleted, kept, anchoredChains: 0, wholeChains: 0, unsignedChains: 0, unchained: 0 };
}

/** What the plan keeps of one chain while reading; of its newer rows only what bounds the prefix. */
interface ChainState {
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
 */
function endOf(chain: ChainState): number {
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

/**
 * Which rows a chain-keeping prune deletes: per chain, only a prefix of seqs that are all older than
 * `beforeMs`, ending right before the last checkpoint that can end one (kept: the chain then starts
 * at a signed checkpoint, whose signature covers the hash of the last deleted event). A chain without
 * any checkpoint loses its prefix of older events; events without a chain, or that cannot be read,
 * go by time alone. Returns the positions to delete and the report.
 * @internal
 */
export function planPrune(rows: Iterable<PruneRow>, beforeMs: number): PrunePlan {
  const plan = startPrunePlan(beforeMs);
  for (const row of rows) plan.add(row);
  return plan.finish();
}

/**
 * `planPrune` fed row by row, so that a store need not hold every row's bytes at once. Of each older
 * row it keeps 24 bytes (seq, position, chain and part numbers in typed arrays), 5 more once `next`
 * is called (see `DeleteWalk`); of a newer row nothing but its chain's lowest seq. `keep` takes a
 * row stored after the rows `add` was given (one the plan did not see, inserted while it read):
 * never deleted, it ends its chain's prefix as a newer event does, so the chain still starts at a
 * checkpoint. A store that deletes in several transactions takes the positions one by one from
 * `next`, then from `toCut` until it has none left before each commit, and gives `keep` the rows
 * stored between them; `finish` then reports on the plan as it ended. @internal
 */
export function startPrunePlan(beforeMs: number): {
  add(row: PruneRow): void;
  /**
   * False, leaving the plan as it was, when the row would end its chain's prefix at or below a seq
   * `next` or `toCut` already handed out: those rows are gone, so the row counts as stored after the prune, and
   * the chain is left as a prune done before the row was stored would leave it.
   */
  keep(row: Pick<PruneRow, "event" | "occurredAtMs">): boolean;
  /** The next position to delete (see `DeleteWalk`); undefined after the last. */
  next(): number | undefined;
  /**
   * The next position to delete before the store may commit, or undefined when it may: once they
   * are gone, every chain is as a prune leaves it (it starts at a signed checkpoint or at seq 1, is
   * gone whole, or has no checkpoint). A store that commits only then leaves, when killed after any
   * commit, a store that verifies, and the next prune with the same `before` finishes it.
   */
  toCut(): number | undefined;
  finish(): PrunePlan;
} {
  const ids = new Map<string, number>();
  const chains: ChainState[] = [];
  const old = new OldRows();
  let unchained = 0;
  let arrivedOld = 0;
  /** How `next` and `toCut` go through the older rows: made by the first call of either. */
  let walk: DeleteWalk | undefined;
  /** Whether `findGaps` ran: once, after the last `add`, before any chain's end is needed. */
  let gapsFound = false;
  const afterAdds = () => {
    if (!gapsFound) findGaps(chains, old);
    gapsFound = true;
  };
  const chainOfRow = (event: Uint8Array) => {
    const link = chainLinkOf(event);
    if (link === undefined) return undefined;
    let index = ids.get(link.chainId);
    if (index === undefined) {
      index = chains.length;
      ids.set(link.chainId, index);
      const inf = Number.POSITIVE_INFINITY;
      chains.push({
        oldCheckpoints: [],
        firstNewer: inf,
        firstNewerCheckpoint: inf,
        firstArrived: inf,
        signed: false,
        lastSeq: 0,
        endsFinal: false,
        firstSeq: inf,
        rows: 0,
        firstGap: inf,
        end: Number.NaN,
        lastTaken: Number.NEGATIVE_INFINITY,
      });
    }
    const chain = chains[index] as ChainState;
    return { index, chain, link };
  };
  const newerCheckpoint = (chain: ChainState, seq: number, checkpoint: boolean) => {
    if (checkpoint && seq < chain.firstNewerCheckpoint) chain.firstNewerCheckpoint = seq;
  };
  return {
    add(row) {
      const isOld = row.occurredAtMs < beforeMs;
      const found = chainOfRow(row.event);
      if (found === undefined) {
        if (isOld) {
          old.push(0, row.position, UNCHAINED, row.part ?? 0);
          unchained++;
        }
        return;
      }
      const { index, chain, link } = found;
      if (link.checkpoint) chain.signed = true;
      if (link.seq > chain.lastSeq) {
        chain.lastSeq = link.seq;
        chain.endsFinal = link.final;
      } else if (link.seq === chain.lastSeq) chain.endsFinal &&= link.final;
      chain.firstSeq = Math.min(chain.firstSeq, link.seq);
      chain.rows++;
      chain.end = Number.NaN;
      if (!isOld) {
        newerCheckpoint(chain, link.seq, link.checkpoint);
        chain.firstNewer = Math.min(chain.firstNewer, link.seq);
      } else {
        if (link.checkpoint) chain.oldCheckpoints.push(link.seq);
        old.push(link.seq, row.position, index, row.part ?? 0);
      }
    },
    keep(row) {
      afterAdds();
      const found = chainOfRow(row.event);
      if (found !== undefined) {
        const { chain, link } = found;
        const was = { ...chain };
        if (link.checkpoint) chain.signed = true;
        newerCheckpoint(chain, link.seq, link.checkpoint);
        chain.firstArrived = Math.min(chain.firstArrived, link.seq);
        chain.end = Number.NaN;
        if (endOf(chain) <= chain.lastTaken) {
          Object.assign(chain, was);
          return false;
        }
      }
      if (row.occurredAtMs < beforeMs) arrivedOld++;
      return true;
    },
    next() {
      afterAdds();
      walk ??= new DeleteWalk(chains, old);
      return walk.next();
    },
    toCut() {
      afterAdds();
      walk ??= new DeleteWalk(chains, old);
      return walk.toCut();
    },
    finish() {
      afterAdds();
      return finishPlan(chains, old, unchained, arrivedOld);
    },
  };
}

/**
 * The order a plan's older rows are deleted in, and the cuts between them. `next` goes in the order
 * the rows were read (deletes near each other in the store go together), leaving to the end the rows
 * of each chain without checkpoints that goes whole: those it then deletes from the chain's highest
 * seq down, so the chain left meanwhile ends early, which verifies. `toCut` completes each chain with
 * checkpoints that `next` left partway: its rows below its next cut (its next older checkpoint, or
 * its prefix's end), going on in the order read. Keeps 5 bytes per older row: a mark, and its place
 * among its chain's rows by seq.
 */
class DeleteWalk {
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

/** The lowest of a chain's (sorted) older checkpoints above `seq`, or Infinity. */
function checkpointAbove(chain: ChainState, seq: number): number {
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

/**
 * Sets `firstGap` of each chain from its older rows. A bitmap of its row count + 1 seqs from
 * `firstSeq` holds the answer: n rows cannot fill n + 1 seqs. Newer rows are not marked: a seq one
 * has is at or above `firstNewer`, which bounds the prefix anyway.
 */
function findGaps(chains: ChainState[], old: OldRows): void {
  const seen = chains.map((chain) => new Uint8Array(chain.rows + 1));
  for (let r = 0; r < old.length; r++) {
    const index = old.chain[r] as number;
    const marks = index === UNCHAINED ? undefined : seen[index];
    if (marks === undefined) continue;
    const at = (old.seq[r] as number) - (chains[index] as ChainState).firstSeq;
    if (at < marks.length) marks[at] = 1;
  }
  for (const [index, marks] of seen.entries()) {
    const chain = chains[index] as ChainState;
    chain.firstGap = chain.firstSeq + marks.indexOf(0);
  }
}

/** An unchained row's chain number. */
const UNCHAINED = 0xffffffff;

function finishPlan(
  chains: readonly ChainState[],
  old: OldRows,
  unchained: number,
  arrivedOld: number,
): PrunePlan {
  const report = cutReport(0);
  report.unchained = unchained;
  let arrived = arrivedOld;
  const ends = Float64Array.from(chains, endOf);
  const deletedOf = new Uint32Array(chains.length);
  const take = new Uint8Array(old.length);
  /** Rows taken per part, then where each part starts in the result. */
  const starts = new Map<number, number>();
  let taken = 0;
  for (let r = 0; r < old.length; r++) {
    const chain = old.chain[r] as number;
    if (chain !== UNCHAINED) {
      const seq = old.seq[r] as number;
      const end = ends[chain] as number;
      if (seq >= end) {
        const state = chains[chain] as ChainState;
        // Behind a newer event read, else behind one stored meanwhile, else up to the prefix's end.
        if (seq > state.firstNewer) report.kept.behindNewer++;
        else if (seq > state.firstArrived) arrived++;
        else if (seq === end) report.kept.anchors++;
        else report.kept.afterLastCheckpoint++;
        continue;
      }
      deletedOf[chain] = (deletedOf[chain] as number) + 1;
    }
    take[r] = 1;
    taken++;
    const part = old.part[r] as number;
    starts.set(part, (starts.get(part) ?? 0) + 1);
  }
  for (const [i, chain] of chains.entries()) {
    if (deletedOf[i] === 0) continue;
    if (ends[i] === Number.POSITIVE_INFINITY) report.wholeChains++;
    else if (chain.signed) report.anchoredChains++;
    else report.unsignedChains++;
  }
  // Grouped by part (a counting sort), in the order read within each: a store deletes part by part.
  let at = 0;
  for (const part of [...starts.keys()].sort((x, y) => x - y)) {
    const count = starts.get(part) as number;
    starts.set(part, at);
    at += count;
  }
  const positions = new Float64Array(taken);
  const parts = new Uint32Array(taken);
  for (let r = 0; r < old.length; r++) {
    if (take[r] === 0) continue;
    const part = old.part[r] as number;
    const k = starts.get(part) as number;
    starts.set(part, k + 1);
    positions[k] = old.position[r] as number;
    parts[k] = part;
  }
  report.deleted = taken;
  if (arrived > 0) report.kept.arrived = arrived;
  return { positions, parts, report };
}
