import type { ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";
import { checkpointSignatureValid } from "./checkpoint.js";
import type { ChainFinding, ChainReport, PrunedPrefix, VerifyOptions } from "./verify-types.js";

/** What the verifier keeps of each event: its links, its recomputed hash, where the source had it. @internal */
export interface ChainEntry {
  seq: number;
  eventId: string;
  /** `chain.hash` as stored. */
  hash: string;
  prevHash: string;
  /** The hash of the event as read ("" when it cannot be encoded). */
  computed: string;
  /** Why the event as read cannot be encoded (so has no hash), if it cannot. */
  unencodable?: string | undefined;
  /** Position in the source (duplicates not counted). */
  position: number;
  checkpoint: ChainCheckpointDetail | undefined;
  /** For a checkpoint: the hash its v2 statement names (the event with its signature emptied). */
  signedHash?: string | undefined;
  /** Why the event is not a checkpoint as a Recorder writes one, if it claims to be one. */
  notCheckpoint?: string | undefined;
}

/** The events of one chain as read, by seq. @internal */
export interface ChainEntries {
  chainId: string;
  service: string;
  bySeq: Map<number, ChainEntry>;
  duplicates: number;
  /** Same seq, different event: found while reading. */
  conflicts: ChainFinding[];
}

/** Checks the links, gaps, order and checkpoints of one chain's events. @internal */
export function checkChain(chain: ChainEntries, options: VerifyOptions): ChainReport {
  const entries = [...chain.bySeq.values()].sort((a, b) => a.seq - b.seq);
  const findings: ChainFinding[] = [...chain.conflicts];
  const at = (seq: number) => chain.bySeq.get(seq);
  let lastCheckpoint: ChainEntry | undefined;
  /** Why the last checkpoint did not verify, if it did not. */
  let lastCheckpointProblem: Pick<ChainFinding, "kind" | "detail"> | undefined;
  /** The first checkpoint: a Recorder signs every checkpoint of its chain with its key. */
  let firstCheckpoint: ChainEntry | undefined;
  let finalCheckpoint: ChainEntry | undefined;
  /** Events after a final checkpoint that no later final checkpoint covers (yet), with its seq. */
  let afterFinal: [ChainEntry, number][] = [];
  let checkpoints = 0;
  let verifiedCheckpoints = 0;
  let previous: ChainEntry | undefined;
  /** The first event read, when it is a checkpoint after seq 1. */
  let prunedBefore: ChainEntry | undefined;
  let pruned: PrunedPrefix | undefined;
  for (const entry of entries) {
    const { seq, eventId } = entry;
    if (!(Number.isSafeInteger(seq) && seq >= 1)) {
      // Not a place in any chain (a Recorder starts at 1): an event put in from outside.
      findings.push({ kind: "broken_link", seq, eventId, detail: `seq ${seq} is not a position in a chain` });
      continue;
    }
    const expectedSeq = (previous?.seq ?? 0) + 1;
    // A chain whose first event read is a checkpoint may have been pruned up to it: decided below.
    if (previous === undefined && seq > 1 && entry.checkpoint !== undefined) prunedBefore = entry;
    else if (seq > expectedSeq) {
      const range =
        seq - 1 === expectedSeq ? `seq ${expectedSeq} is` : `seqs ${expectedSeq} to ${seq - 1} are`;
      findings.push({
        kind: "missing",
        seq: expectedSeq,
        toSeq: seq - 1,
        eventId: "",
        detail: `${range} missing`,
      });
    }
    if (entry.unencodable !== undefined) {
      findings.push({
        kind: "modified",
        seq,
        eventId,
        detail: `the event holds a value no Recorder writes and cannot be hashed (${entry.unencodable})`,
      });
    } else if (entry.computed !== entry.hash) {
      findings.push({ kind: "modified", seq, eventId, detail: "the event does not match its hash" });
    } else if (entry.notCheckpoint !== undefined) {
      findings.push({ kind: "modified", seq, eventId, detail: entry.notCheckpoint });
    }
    const before = at(seq - 1);
    const expectedPrev = seq === 1 ? "" : before?.hash;
    if (expectedPrev !== undefined && entry.prevHash !== expectedPrev) {
      findings.push({
        kind: "broken_link",
        seq,
        eventId,
        detail: `prevHash is not the hash of the event at seq ${seq - 1}`,
      });
    }
    // Nothing may follow a final checkpoint but what a later final checkpoint covers: close writes a
    // second one when an emitter dropped the first, and links the calls that end meanwhile before it.
    if (finalCheckpoint !== undefined && entry.checkpoint?.final !== true) {
      afterFinal.push([entry, finalCheckpoint.seq]);
    }
    if (entry.checkpoint !== undefined) {
      checkpoints++;
      lastCheckpoint = entry;
      firstCheckpoint ??= entry;
      const problem = checkpointProblem(chain.chainId, entry, at(seq - 1), firstCheckpoint, options);
      lastCheckpointProblem = problem;
      if (entry === prunedBefore) pruned = anchoredPrefix(entry, problem);
      if (problem === undefined) {
        verifiedCheckpoints++;
        if (entry.checkpoint.final) {
          finalCheckpoint = entry;
          afterFinal = []; // signed over them: the links up to it hold them
        }
      } else findings.push({ seq, eventId, ...problem });
    }
    previous = entry;
  }
  if (prunedBefore !== undefined && pruned === undefined) findings.push(missingBefore(prunedBefore));
  for (const [entry, finalSeq] of afterFinal) {
    findings.push({
      kind: "broken_link",
      seq: entry.seq,
      eventId: entry.eventId,
      detail: `the event follows the final checkpoint at seq ${finalSeq}`,
    });
  }
  findings.push(...reordered(entries));
  const last = entries[entries.length - 1];
  const lastSeq = last?.seq ?? 0;
  const sealed = finalCheckpoint !== undefined && finalCheckpoint === last;
  const unsealed = lastSeq - (lastCheckpoint?.seq ?? 0);
  if (!sealed && options.expectSealed === true && last !== undefined) {
    findings.push({
      kind: "truncated",
      seq: lastSeq,
      eventId: last.eventId,
      detail: truncatedDetail(lastSeq, lastCheckpoint, lastCheckpointProblem),
    });
  }
  findings.sort((a, b) => a.seq - b.seq);
  return {
    chainId: chain.chainId,
    service: chain.service,
    events: entries.length,
    firstSeq: entries[0]?.seq ?? 0,
    lastSeq,
    checkpoints,
    verifiedCheckpoints,
    sealed,
    unsealed,
    duplicates: chain.duplicates,
    findings,
    ...(pruned === undefined ? {} : { pruned }),
  };
}

/**
 * Why a chain that should be sealed is not. A final checkpoint that ends it but did not verify (no
 * public key for it, a bad signature) is named as such: the chain may well be whole, but nothing says so.
 */
function truncatedDetail(
  lastSeq: number,
  lastCheckpoint: ChainEntry | undefined,
  problem: Pick<ChainFinding, "detail"> | undefined,
): string {
  if (lastCheckpoint === undefined) return `the chain ends at seq ${lastSeq} without any checkpoint`;
  if (lastCheckpoint.seq === lastSeq && lastCheckpoint.checkpoint?.final === true && problem !== undefined) {
    return `the chain ends at seq ${lastSeq} in a final checkpoint that could not be verified: ${problem.detail}`;
  }
  if (lastCheckpoint.seq === lastSeq) {
    // A periodic checkpoint last: the Recorder did not close (still running, or killed).
    return `the chain ends at seq ${lastSeq} in a checkpoint that is not final: its Recorder did not close`;
  }
  const unsealed = lastSeq - lastCheckpoint.seq;
  return `the chain ends at seq ${lastSeq} without a verified final checkpoint: ${unsealed} event${unsealed === 1 ? "" : "s"} after the last checkpoint (seq ${lastCheckpoint.seq})`;
}

/**
 * The pruned prefix a chain's first event vouches for, or undefined: it must be a checkpoint that
 * verified with a given key (its own link naming the head its signature covers), and unedited.
 * Anything less and the absent seqs are `missing`, as any other cut.
 */
function anchoredPrefix(
  entry: ChainEntry,
  problem: Pick<ChainFinding, "kind" | "detail"> | undefined,
): PrunedPrefix | undefined {
  const checkpoint = entry.checkpoint;
  if (problem !== undefined || checkpoint === undefined) return undefined;
  if (entry.unencodable !== undefined || entry.computed !== entry.hash || entry.notCheckpoint !== undefined) {
    return undefined;
  }
  return { toSeq: entry.seq - 1, anchorSeq: entry.seq, keyId: checkpoint.keyId };
}

function missingBefore(entry: ChainEntry): ChainFinding {
  const range = entry.seq === 2 ? "seq 1 is" : `seqs 1 to ${entry.seq - 1} are`;
  return {
    kind: "missing",
    seq: 1,
    toSeq: entry.seq - 1,
    eventId: "",
    detail: `${range} missing: the checkpoint at seq ${entry.seq} cannot vouch for them (see its finding)`,
  };
}

/** Why a checkpoint does not verify, or undefined when it does. */
function checkpointProblem(
  chainId: string,
  entry: ChainEntry,
  head: ChainEntry | undefined,
  first: ChainEntry,
  options: VerifyOptions,
): Pick<ChainFinding, "kind" | "detail"> | undefined {
  const checkpoint = entry.checkpoint;
  if (checkpoint === undefined) return undefined;
  if (checkpoint.headSeq !== entry.seq - 1) {
    return {
      kind: "bad_signature",
      detail: `the checkpoint names head seq ${checkpoint.headSeq}, not the event before it (seq ${entry.seq - 1})`,
    };
  }
  const headHash = entry.seq === 1 ? "" : head?.hash;
  if (headHash !== undefined && checkpoint.headHash !== headHash) {
    return {
      kind: "bad_signature",
      detail: `the checkpoint's head hash is not the hash of the event at seq ${checkpoint.headSeq}`,
    };
  }
  // A Recorder links a checkpoint right after its head: without the head (pruned, deleted) its own
  // link is what still names it.
  if (checkpoint.headHash !== entry.prevHash) {
    return { kind: "bad_signature", detail: "the checkpoint's head hash is not its prevHash" };
  }
  const firstKeyId = first.checkpoint?.keyId;
  if (firstKeyId !== undefined && checkpoint.keyId !== firstKeyId) {
    // One Recorder, one key: another key's signature here is someone else's, even a trusted key's.
    return {
      kind: "bad_signature",
      detail: `the checkpoint names key ${checkpoint.keyId}, the chain's first checkpoint (seq ${first.seq}) key ${firstKeyId}: a Recorder signs its whole chain with one key`,
    };
  }
  const key = options.publicKeys?.get(checkpoint.keyId);
  if (key === undefined) {
    return { kind: "unknown_key", detail: `no public key was given for key id ${checkpoint.keyId}` };
  }
  if (!checkpointSignatureValid(key, chainId, checkpoint, entry.signedHash)) {
    return { kind: "bad_signature", detail: `the signature does not verify with key ${checkpoint.keyId}` };
  }
  return undefined;
}

/**
 * Events the source holds out of seq order: those outside the longest run of events whose source
 * positions rise with their seqs (the fewest events that, moved back, restore the order).
 */
function reordered(entries: readonly ChainEntry[]): ChainFinding[] {
  // Longest increasing subsequence of positions, in O(n log n): tails[k] is the index of the entry
  // ending the best run of length k + 1, and back[i] the entry before i in its run.
  const tails: number[] = [];
  const back = new Int32Array(entries.length).fill(-1);
  entries.forEach((entry, i) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (position(entries, tails[mid]) < entry.position) low = mid + 1;
      else high = mid;
    }
    back[i] = low > 0 ? (tails[low - 1] ?? -1) : -1;
    tails[low] = i;
  });
  const inOrder = new Uint8Array(entries.length);
  for (let i = tails[tails.length - 1] ?? -1; i >= 0; i = back[i] ?? -1) inOrder[i] = 1;
  const findings: ChainFinding[] = [];
  entries.forEach((entry, i) => {
    if (inOrder[i] === 0) {
      findings.push({
        kind: "reordered",
        seq: entry.seq,
        eventId: entry.eventId,
        detail: "the source holds the event out of seq order",
      });
    }
  });
  return findings;
}

function position(entries: readonly ChainEntry[], index: number | undefined): number {
  return index === undefined ? -1 : (entries[index]?.position ?? -1);
}
