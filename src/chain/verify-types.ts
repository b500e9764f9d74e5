import type { KeyObject } from "node:crypto";

/**
 * What `verifyChains` can find wrong with a chain or, for `empty` and `unchained`, with the trail as a
 * whole, from the least to the most serious (the CLI's exit code grows with it; the last two came
 * later and were put last so that the others kept their exit codes):
 * - `unknown_key`: a checkpoint signed by a key id none of the given public keys has; not checked.
 * - `truncated`: with `expectSealed`, the chain ends without a verified final checkpoint: the events
 *   after its last checkpoint may have been cut off (or the recorder never closed), or it ends in a
 *   final checkpoint that could not be verified (no public key for its key id, a bad signature).
 * - `reordered`: the event sits elsewhere in the source than its seq says (a moved log line).
 * - `missing`: seqs absent from the source (deleted events, or events an emitter dropped).
 * - `broken_link`: `prevHash` is not the hash of the event before it (an edited event whose hash was
 *   recomputed, an inserted one), an event other than a final checkpoint follows the final checkpoint,
 *   or has a seq below 1.
 * - `conflict`: two different events with the same seq.
 * - `modified`: the stored hash is not the hash of the event as read (an edited event), or a stored
 *   event cannot be read at all.
 * - `bad_signature`: a checkpoint whose signature fails with its key, whose head is not the event
 *   before it with the hash it states (nor its own `prevHash`), or that names another key id than the chain's first checkpoint
 *   (a Recorder signs its whole chain with one key).
 * - `empty`: with `expectSealed`, the trail holds no chained event, so nothing was verified (an
 *   emptied store, another store, or events of Recorders with `chain: false`).
 * - `unchained`: with `expectSealed`, events without `chain` next to chained ones: no chain covers
 *   them (an event put in from outside, or one of a Recorder with `chain: false`).
 */
export type ChainFindingKind =
  | "unknown_key"
  | "truncated"
  | "reordered"
  | "missing"
  | "broken_link"
  | "conflict"
  | "modified"
  | "bad_signature"
  | "empty"
  | "unchained";

/** The finding kinds from the least to the most serious. */
export const CHAIN_FINDING_KINDS: readonly ChainFindingKind[] = [
  "unknown_key",
  "truncated",
  "reordered",
  "missing",
  "broken_link",
  "conflict",
  "modified",
  "bad_signature",
  "empty",
  "unchained",
];

/** One thing found wrong in a chain, at a seq (the first of a range for `missing`). */
export interface ChainFinding {
  /** What was found. */
  kind: ChainFindingKind;
  /** Where in the chain. */
  seq: number;
  /** For `missing`: the last seq of the missing range. */
  toSeq?: number;
  /** Id of the event at `seq` ("" when there is none, as for `missing`). */
  eventId: string;
  /** What was found, in a sentence. */
  detail: string;
}

/** What `verifyChains` found in one chain. */
export interface ChainReport {
  /** The chain's id (one per Recorder instance). */
  chainId: string;
  /** The service of its first event. */
  service: string;
  /**
   * The `instance` of its first event: which process of the service recorded the chain (the
   * Recorder's `instance` option). Absent when that event has none.
   */
  instance?: string;
  /** Distinct events (seqs) read. */
  events: number;
  /** Lowest seq read. */
  firstSeq: number;
  /** Highest seq read. */
  lastSeq: number;
  /** Checkpoints read. */
  checkpoints: number;
  /** Checkpoints whose head and signature verified with a given key. */
  verifiedCheckpoints: number;
  /** True when the chain ends with a verified final checkpoint (its recorder closed). */
  sealed: boolean;
  /** Events after the last checkpoint (0 for a sealed chain): not covered by any signature. */
  unsealed: number;
  /** At-least-once duplicates: the same event, byte for byte, read again. Not a finding. */
  duplicates: number;
  /** Sorted by seq; empty when the chain verifies. */
  findings: ChainFinding[];
  /**
   * Present when the chain's seqs 1 to `toSeq` are absent and its first event read is a signed
   * checkpoint that verified: the prefix `grpc-audit prune` deletes, which is then a note, not a
   * `missing` finding. The signature covers the hash of the last absent event, so the prefix ended there.
   */
  pruned?: {
    /** The last absent seq (the absent ones are 1 to `toSeq`). */
    toSeq: number;
    /** Seq of the checkpoint the chain starts at: `toSeq` + 1. */
    anchorSeq: number;
    /** Key id of the checkpoint's signature, which verified with the public key given for it. */
    keyId: string;
  };
}

/**
 * A chain's absent first seqs, vouched for by the signed checkpoint the chain now starts at.
 * @internal
 */
export type PrunedPrefix = NonNullable<ChainReport["pruned"]>;

/** What `verifyChains` found in a whole source. */
export interface VerifyReport {
  /** True when neither the trail nor any chain has a finding. */
  ok: boolean;
  /**
   * One per chain id, in the order first seen. Empty when the trail holds no chained event: then
   * nothing was verified, which is an `empty` finding with `expectSealed` and no finding without.
   */
  chains: ChainReport[];
  /** Findings about the trail as a whole, not one chain, only with `expectSealed`; empty when it verifies. */
  findings: {
    /** What was found. */
    kind: Extract<ChainFindingKind, "empty" | "unchained">;
    /** Id of the first event concerned ("" when there is none, as for `empty`). */
    eventId: string;
    /** What was found, in a sentence. */
    detail: string;
  }[];
  /** Events read, duplicates included. */
  events: number;
  /**
   * Events without `chain` (written before schema version 2, or by a Recorder with `chain: false`):
   * nothing verifies them. Only counted, unless `expectSealed` (then `empty` or `unchained`).
   */
  unchained: number;
  /**
   * Key ids of `publicKeys` that no checkpoint of the trail names, in the order given. Not a finding
   * (a verifier may hold every key it trusts), but a key given for a trail it signed none of shows
   * here: its chains hold no checkpoint, or checkpoints of other keys.
   */
  unusedKeys: string[];
}

/** Options of `verifyChains`. */
export interface VerifyOptions {
  /** Ed25519 public keys by key id, to check checkpoint signatures. Default: none (each checkpoint is `unknown_key`). */
  publicKeys?: ReadonlyMap<string, KeyObject>;
  /**
   * Expect every event to be in a sealed chain (its recorder closed, leaving a final checkpoint): a
   * chain that is not gets a `truncated` finding, a trail without chained events an `empty` one and
   * events without `chain` next to chained ones an `unchained` one. Default: false, for trails of
   * recorders that may still be running; their open tail is reported in `unsealed`.
   */
  expectSealed?: boolean;
}
