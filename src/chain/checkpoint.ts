import { type KeyObject, sign, verify } from "node:crypto";
import type { ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";

/** First line of every checkpoint statement: names the format, so a signature cannot be reused for another. */
export const CHECKPOINT_STATEMENT_PREFIX = "grpc-audit-checkpoint/v1";

/**
 * The bytes a checkpoint's Ed25519 signature is over, UTF-8 text of five lines joined by "\n" (no
 * trailing newline): the prefix, the chain id, the head seq in decimal, the head hash, and "true" or
 * "false" for `final`.
 */
export function checkpointStatement(
  chainId: string,
  checkpoint: Pick<ChainCheckpointDetail, "headSeq" | "headHash" | "final">,
): Buffer {
  const { headSeq, headHash, final } = checkpoint;
  return Buffer.from(
    `${CHECKPOINT_STATEMENT_PREFIX}\n${chainId}\n${headSeq}\n${headHash}\n${final ? "true" : "false"}`,
    "utf8",
  );
}

/** Signs a checkpoint statement with an Ed25519 private key; base64. */
export function signCheckpoint(
  privateKey: KeyObject,
  chainId: string,
  checkpoint: Pick<ChainCheckpointDetail, "headSeq" | "headHash" | "final">,
): string {
  return sign(null, checkpointStatement(chainId, checkpoint), privateKey).toString("base64");
}

/** True when the checkpoint's signature is a valid Ed25519 signature of its statement by `publicKey`. */
export function checkpointSignatureValid(
  publicKey: KeyObject,
  chainId: string,
  checkpoint: ChainCheckpointDetail,
): boolean {
  const signature = Buffer.from(checkpoint.signature, "base64");
  // Ed25519 signatures are 64 bytes; anything else (or text that is not base64) cannot be one.
  if (signature.length !== 64 || signature.toString("base64") !== checkpoint.signature) return false;
  try {
    return verify(null, checkpointStatement(chainId, checkpoint), publicKey, signature);
  } catch {
    return false;
  }
}
