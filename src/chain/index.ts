/**
 * The tamper-evident chain: every event a Recorder emits names the hash of the one before it (SHA-256
 * over a canonical encoding), signed checkpoints cover the chain's head, and `verifyChains` checks a
 * trail read back from a store or a log. It does not store or deliver events, and it proves nothing
 * about events a Recorder never saw.
 */

export { canonicalBytes, chainHash } from "./canonical.js";
export type { ChainOptions } from "./chain-options.js";
export { CHECKPOINT_STATEMENT_PREFIX, checkpointStatement } from "./checkpoint.js";
export { verifyChains } from "./verify.js";
export {
  CHAIN_FINDING_KINDS,
  type ChainFinding,
  type ChainFindingKind,
  type ChainReport,
  type VerifyOptions,
  type VerifyReport,
} from "./verify-types.js";
