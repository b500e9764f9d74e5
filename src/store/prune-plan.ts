import { BinaryReader } from "@bufbuild/protobuf/wire";
import { AuditConfigError } from "../errors/index.js";
import { Chain } from "../gen/grpcaudit/v1/event.js";

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
     * Events of a chain with checkpoints that no checkpoint it could be cut at follows yet (those after
     * its last checkpoint older than `before`): a later prune deletes them once one does.
     */
    afterLastCheckpoint: number;
    /** Events stamped earlier than an event before them in their chain that is not older than `before`. */
    behindNewer: number;
  };
  /** Chains whose deleted prefix ends right before a kept signed checkpoint: `verify` notes them as pruned. */
  anchoredChains: number;
  /** Chains without any checkpoint that lost events (a Recorder without a signing key): `verify` reports `missing` from seq 1. */
  unsignedChains: number;
  /** Of `deleted`: events without a chain, or whose stored bytes cannot be read, deleted by time alone. */
  unchained: number;
}

/**
 * One stored row as the prune plan reads it: its insertion position, time and event bytes.
 * @internal
 */
export interface PruneRow {
  position: number;
  occurredAtMs: number;
  event: Uint8Array;
}

/** Checks prune options the same way in both stores. @internal */
export function checkPruneOptions(options: PruneOptions, store: string): void {
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
  return { deleted, kept, anchoredChains: 0, unsignedChains: 0, unchained: 0 };
}

/** What the plan keeps of one chain while reading. */
interface ChainRows {
  /** Rows older than the cutoff: [seq, position]. */
  old: [number, number][];
  /** Seqs of checkpoints, old or not. */
  checkpoints: number[];
  /** Lowest seq of an event not older than the cutoff. */
  firstNewer: number;
}

/**
 * Which rows a chain-keeping prune deletes: per chain, only a prefix of seqs that are all older than
 * `beforeMs`, ending right before the last checkpoint that can end one (kept: the chain then starts
 * at a signed checkpoint, whose signature covers the hash of the last deleted event). A chain without
 * any checkpoint loses its prefix of older events; events without a chain, or that cannot be read,
 * go by time alone. Returns the positions to delete and the report.
 * @internal
 */
export function planPrune(
  rows: Iterable<PruneRow>,
  beforeMs: number,
): { positions: number[]; report: PruneReport } {
  const plan = startPrunePlan(beforeMs);
  for (const row of rows) plan.add(row);
  return plan.finish();
}

/** `planPrune` fed row by row, so that a store need not hold every row's bytes at once. @internal */
export function startPrunePlan(beforeMs: number): {
  add(row: PruneRow): void;
  finish(): { positions: number[]; report: PruneReport };
} {
  const report = cutReport(0);
  const positions: number[] = [];
  const chains = new Map<string, ChainRows>();
  return {
    add(row) {
      const old = row.occurredAtMs < beforeMs;
      const link = chainOf(row.event);
      if (link === undefined) {
        if (old) {
          positions.push(row.position);
          report.unchained++;
        }
        return;
      }
      let chain = chains.get(link.chainId);
      if (chain === undefined) {
        chain = { old: [], checkpoints: [], firstNewer: Number.POSITIVE_INFINITY };
        chains.set(link.chainId, chain);
      }
      if (link.checkpoint) chain.checkpoints.push(link.seq);
      if (old) chain.old.push([link.seq, row.position]);
      else chain.firstNewer = Math.min(chain.firstNewer, link.seq);
    },
    finish() {
      for (const chain of chains.values()) planChain(chain, positions, report);
      report.deleted = positions.length;
      return { positions, report };
    },
  };
}

function planChain(chain: ChainRows, positions: number[], report: PruneReport): void {
  const { firstNewer } = chain;
  const signed = chain.checkpoints.length > 0;
  // The prefix ends before the last checkpoint at or below the first newer event (kept); unsigned, before that event.
  let end = signed ? 0 : firstNewer;
  for (const seq of chain.checkpoints) if (seq <= firstNewer && seq > end) end = seq;
  let deleted = 0;
  for (const [seq, position] of chain.old) {
    if (seq < end) {
      positions.push(position);
      deleted++;
    } else if (seq > firstNewer) report.kept.behindNewer++;
    else if (seq === end) report.kept.anchors++;
    else report.kept.afterLastCheckpoint++;
  }
  if (deleted > 0) {
    if (signed) report.anchoredChains++;
    else report.unsignedChains++;
  }
}

/** Tags (field number << 3 | wire type) of the AuditEvent fields the plan reads: `chain` (16) and the checkpoint detail (25). */
const TAG = { CHAIN: 130, CHECKPOINT: 202 } as const;

/**
 * The chain link of a stored event, or undefined when it has none or cannot be read. Reads only the
 * top-level tags and the `chain` message (a tenth of a full decode): the last `chain` wins, as in
 * `decodeEvent`. A row it misreads is no risk: verify decodes every event and reports what is wrong.
 */
function chainOf(bytes: Uint8Array): { chainId: string; seq: number; checkpoint: boolean } | undefined {
  try {
    const reader = new BinaryReader(bytes);
    let chain: Chain | undefined;
    let checkpoint = false;
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === TAG.CHAIN) chain = Chain.decode(reader, reader.uint32());
      else if (tag === TAG.CHECKPOINT) {
        checkpoint = true;
        reader.skip(tag & 7);
      } else if (tag === 0 || (tag & 7) === 4)
        break; // the end of the message, as the decoder takes it
      else reader.skip(tag & 7);
    }
    return chain === undefined ? undefined : { chainId: chain.chainId, seq: chain.seq, checkpoint };
  } catch {
    return undefined; // damaged: verify reports it; by time, as an unchained event
  }
}
