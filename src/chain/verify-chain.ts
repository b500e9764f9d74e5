import type { ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";
import type { ChainColumns, EntryExtra } from "./chain-columns.js";
import { checkpointSignatureValid } from "./checkpoint.js";
import type { ChainFinding, ChainReport, PrunedPrefix, VerifyOptions } from "./verify-types.js";

/** A checkpoint as the walk keeps it: where it is, and what it states. */
interface Checkpoint {
  index: number;
  seq: number;
  detail: ChainCheckpointDetail;
}

/** Checks the links, gaps, order and checkpoints of one chain's events. @internal */
export function checkChain(chain: ChainColumns, options: VerifyOptions): ChainReport {
  const order = chain.bySeq();
  const findings: ChainFinding[] = [...chain.conflicts];
  let lastCheckpoint: Checkpoint | undefined;
  /** Why the last checkpoint did not verify, if it did not. */
  let lastCheckpointProblem: Pick<ChainFinding, "kind" | "detail"> | undefined;
  /** The first checkpoint: a Recorder signs every checkpoint of its chain with its key. */
  let firstCheckpoint: Checkpoint | undefined;
  let finalCheckpoint: Checkpoint | undefined;
  /** Events (indexes) after a final checkpoint that no later final checkpoint covers (yet), with its seq. */
  let afterFinal: [number, number][] = [];
  let checkpoints = 0;
  let verifiedCheckpoints = 0;
  let previousSeq: number | undefined;
  /** The first event read (its index), when it is a checkpoint after seq 1. */
  let prunedBefore: number | undefined;
  let pruned: PrunedPrefix | undefined;
  for (const index of order) {
    const seq = chain.seq(index);
    if (!(Number.isSafeInteger(seq) && seq >= 1)) {
      // Not a place in any chain (a Recorder starts at 1): an event put in from outside.
      const eventId = chain.eventId(index);
      findings.push({ kind: "broken_link", seq, eventId, detail: `seq ${seq} is not a position in a chain` });
      continue;
    }
    const expectedSeq = (previousSeq ?? 0) + 1;
    const extra = chain.extra(index);
    const detail = extra?.checkpoint;
    // A chain whose first event read is a checkpoint may have been pruned up to it: decided below.
    if (previousSeq === undefined && seq > 1 && detail !== undefined) prunedBefore = index;
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
    const modified = modifiedDetail(chain.computedMatches(index), extra);
    if (modified !== undefined) {
      findings.push({ kind: "modified", seq, eventId: chain.eventId(index), detail: modified });
    }
    if (chain.linkBroken(index)) {
      findings.push({
        kind: "broken_link",
        seq,
        eventId: chain.eventId(index),
        detail: `prevHash is not the hash of the event at seq ${seq - 1}`,
      });
    }
    // Nothing may follow a final checkpoint but what a later final checkpoint covers: close writes a
    // second one when an emitter dropped the first, and links the calls that end meanwhile before it.
    if (finalCheckpoint !== undefined && detail?.final !== true)
      afterFinal.push([index, finalCheckpoint.seq]);
    if (detail !== undefined) {
      const checkpoint: Checkpoint = { index, seq, detail };
      checkpoints++;
      lastCheckpoint = checkpoint;
      firstCheckpoint ??= checkpoint;
      const problem = checkpointProblem(chain, checkpoint, extra, firstCheckpoint, options);
      lastCheckpointProblem = problem;
      // The prefix is vouched for only by a checkpoint that verified and is as written: else `missing`.
      if (index === prunedBefore && problem === undefined && modified === undefined) {
        pruned = { toSeq: seq - 1, anchorSeq: seq, keyId: detail.keyId };
      }
      if (problem === undefined) {
        verifiedCheckpoints++;
        if (detail.final) {
          finalCheckpoint = checkpoint;
          afterFinal = []; // signed over them: the links up to it hold them
        }
      } else findings.push({ seq, eventId: chain.eventId(index), ...problem });
    }
    previousSeq = seq;
  }
  if (prunedBefore !== undefined && pruned === undefined)
    findings.push(missingBefore(chain.seq(prunedBefore)));
  for (const [index, finalSeq] of afterFinal) {
    findings.push({
      kind: "broken_link",
      seq: chain.seq(index),
      eventId: chain.eventId(index),
      detail: `the event follows the final checkpoint at seq ${finalSeq}`,
    });
  }
  if (!chain.inOrder) findings.push(...reordered(chain, order));
  const last = order[order.length - 1];
  const lastSeq = last === undefined ? 0 : chain.seq(last);
  const sealed = finalCheckpoint !== undefined && finalCheckpoint.index === last;
  const unsealed = lastSeq - (lastCheckpoint?.seq ?? 0);
  if (!sealed && options.expectSealed === true && last !== undefined) {
    findings.push({
      kind: "truncated",
      seq: lastSeq,
      eventId: chain.eventId(last),
      detail: truncatedDetail(lastSeq, lastCheckpoint, lastCheckpointProblem),
    });
  }
  findings.sort((a, b) => a.seq - b.seq);
  const first = order[0];
  return {
    chainId: chain.chainId,
    service: chain.service,
    events: chain.count,
    firstSeq: first === undefined ? 0 : chain.seq(first),
    lastSeq,
    checkpoints,
    verifiedCheckpoints,
    sealed,
    unsealed,
    duplicates: chain.duplicates,
    findings,
    ...(chain.instance === "" ? {} : { instance: chain.instance }),
    ...(pruned === undefined ? {} : { pruned }),
  };
}

/**
 * Why the event as read is not the one its hash was taken over (or not a checkpoint as a Recorder
 * writes one), or undefined. A pruned chain's anchor must have none of these.
 */
function modifiedDetail(computedMatches: boolean, extra: EntryExtra | undefined): string | undefined {
  if (extra?.unencodable !== undefined) {
    return `the event holds a value no Recorder writes and cannot be hashed (${extra.unencodable})`;
  }
  if (!computedMatches) return "the event does not match its hash";
  return extra?.notCheckpoint;
}

/**
 * Why a chain that should be sealed is not. A final checkpoint that ends it but did not verify (no
 * public key for it, a bad signature) is named as such: the chain may well be whole, but nothing says so.
 */
function truncatedDetail(
  lastSeq: number,
  lastCheckpoint: Checkpoint | undefined,
  problem: Pick<ChainFinding, "detail"> | undefined,
): string {
  if (lastCheckpoint === undefined) return `the chain ends at seq ${lastSeq} without any checkpoint`;
  if (lastCheckpoint.seq === lastSeq && lastCheckpoint.detail.final && problem !== undefined) {
    return `the chain ends at seq ${lastSeq} in a final checkpoint that could not be verified: ${problem.detail}`;
  }
  if (lastCheckpoint.seq === lastSeq) {
    // A periodic checkpoint last: the Recorder did not close (still running, or killed).
    return `the chain ends at seq ${lastSeq} in a checkpoint that is not final: its Recorder did not close`;
  }
  const unsealed = lastSeq - lastCheckpoint.seq;
  return `the chain ends at seq ${lastSeq} without a verified final checkpoint: ${unsealed} event${unsealed === 1 ? "" : "s"} after the last checkpoint (seq ${lastCheckpoint.seq})`;
}

function missingBefore(seq: number): ChainFinding {
  const range = seq === 2 ? "seq 1 is" : `seqs 1 to ${seq - 1} are`;
  return {
    kind: "missing",
    seq: 1,
    toSeq: seq - 1,
    eventId: "",
    detail: `${range} missing: the checkpoint at seq ${seq} cannot vouch for them (see its finding)`,
  };
}

/** Why a checkpoint does not verify, or undefined when it does. */
function checkpointProblem(
  chain: ChainColumns,
  { seq, detail: checkpoint }: Checkpoint,
  extra: EntryExtra | undefined,
  first: Checkpoint,
  options: VerifyOptions,
): Pick<ChainFinding, "kind" | "detail"> | undefined {
  if (checkpoint.headSeq !== seq - 1) {
    return {
      kind: "bad_signature",
      detail: `the checkpoint names head seq ${checkpoint.headSeq}, not the event before it (seq ${seq - 1})`,
    };
  }
  const head = chain.indexOf(seq - 1);
  const headHash = seq === 1 ? "" : head >= 0 ? chain.hash(head) : undefined;
  if (headHash !== undefined && checkpoint.headHash !== headHash) {
    return {
      kind: "bad_signature",
      detail: `the checkpoint's head hash is not the hash of the event at seq ${checkpoint.headSeq}`,
    };
  }
  // A Recorder links a checkpoint right after its head: without the head (pruned, deleted) its own
  // link is what still names it.
  if (checkpoint.headHash !== extra?.prevHash) {
    return { kind: "bad_signature", detail: "the checkpoint's head hash is not its prevHash" };
  }
  const firstKeyId = first.detail.keyId;
  if (checkpoint.keyId !== firstKeyId) {
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
  if (!checkpointSignatureValid(key, chain.chainId, checkpoint, extra?.signedHash)) {
    return { kind: "bad_signature", detail: `the signature does not verify with key ${checkpoint.keyId}` };
  }
  return undefined;
}

/**
 * Events the source holds out of seq order: those outside the longest run of events whose source
 * positions (their indexes) rise with their seqs (the fewest events that, moved back, restore the order).
 */
function reordered(chain: ChainColumns, order: readonly number[]): ChainFinding[] {
  // Longest increasing subsequence of positions, in O(n log n): tails[k] is the index in `order` of
  // the entry ending the best run of length k + 1, and back[i] the entry before i in its run.
  const tails: number[] = [];
  const back = new Int32Array(order.length).fill(-1);
  order.forEach((position, i) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((order[tails[mid] ?? -1] ?? -1) < position) low = mid + 1;
      else high = mid;
    }
    back[i] = low > 0 ? (tails[low - 1] ?? -1) : -1;
    tails[low] = i;
  });
  const inOrder = new Uint8Array(order.length);
  for (let i = tails[tails.length - 1] ?? -1; i >= 0; i = back[i] ?? -1) inOrder[i] = 1;
  const findings: ChainFinding[] = [];
  order.forEach((index, i) => {
    if (inOrder[i] === 0) {
      findings.push({
        kind: "reordered",
        seq: chain.seq(index),
        eventId: chain.eventId(index),
        detail: "the source holds the event out of seq order",
      });
    }
  });
  return findings;
}
