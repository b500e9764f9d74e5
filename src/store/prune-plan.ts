import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { chainLinkOf } from "./chain-link.js";
import { DeleteWalk } from "./delete-walk.js";
import { OldRows } from "./old-rows.js";
import { type ChainState, endOf, UNCHAINED } from "./prune-chains.js";

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
