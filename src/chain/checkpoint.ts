import { type KeyObject, sign, verify } from "node:crypto";
import { AuditInputError } from "../errors/index.js";
import type { AuditEvent, ChainCheckpointDetail } from "../gen/grpcaudit/v1/event.js";
import { chainHash } from "./canonical.js";

/**
 * First line of a v1 checkpoint statement (what Recorders signed before v2): names the format, so a
 * signature cannot be reused for another.
 */
export const CHECKPOINT_STATEMENT_PREFIX = "grpc-audit-checkpoint/v1";

/** First line of a statement that also covers the checkpoint event itself (see `checkpointStatement`). */
const STATEMENT_V2_PREFIX = "grpc-audit-checkpoint/v2";

/**
 * The bytes a checkpoint's Ed25519 signature is over, UTF-8 text of lines joined by "\n" (no trailing
 * newline): the prefix, the chain id, the head seq in decimal, the head hash, and "true" or "false"
 * for `final`. With `eventHash` (what Recorders sign since statement v2: `checkpointEventHash` of the
 * checkpoint event) the first line is "grpc-audit-checkpoint/v2" and `eventHash` is a sixth line, so
 * the signature also covers the checkpoint event's time, id and every other field. Throws an
 * AuditInputError for a `checkpoint` that is not an object.
 */
export function checkpointStatement(
  chainId: string,
  checkpoint: Pick<ChainCheckpointDetail, "headSeq" | "headHash" | "final">,
  eventHash?: string,
): Buffer {
  if (typeof checkpoint !== "object" || checkpoint === null)
    throw new AuditInputError(
      `checkpointStatement: \`checkpoint\` must be an object with headSeq, headHash and final, got ${checkpoint === null ? "null" : typeof checkpoint}`,
    );
  const { headSeq, headHash, final } = checkpoint;
  const v1 = `${chainId}\n${headSeq}\n${headHash}\n${final ? "true" : "false"}`;
  return Buffer.from(
    eventHash === undefined
      ? `${CHECKPOINT_STATEMENT_PREFIX}\n${v1}`
      : `${STATEMENT_V2_PREFIX}\n${v1}\n${eventHash}`,
    "utf8",
  );
}

/**
 * The hash a v2 statement names: `chainHash` of the checkpoint event with its signature set to ""
 * (and, as always, `chain.hash`), so with its chain id, seq and prevHash. @internal
 */
export function checkpointEventHash(event: AuditEvent): string {
  if (event.detail?.$case !== "checkpoint") throw new Error("not a checkpoint event");
  return chainHash({
    ...event,
    detail: { $case: "checkpoint", value: { ...event.detail.value, signature: "" } },
  });
}

/** Signs a checkpoint statement (v2 with `eventHash`) with an Ed25519 private key; base64. */
export function signCheckpoint(
  privateKey: KeyObject,
  chainId: string,
  checkpoint: Pick<ChainCheckpointDetail, "headSeq" | "headHash" | "final">,
  eventHash?: string,
): string {
  return sign(null, checkpointStatement(chainId, checkpoint, eventHash), privateKey).toString("base64");
}

/**
 * True when the checkpoint's signature is a valid Ed25519 signature by `publicKey` of its v2
 * statement over `eventHash` (when given) or of its v1 statement (what Recorders signed before v2).
 */
export function checkpointSignatureValid(
  publicKey: KeyObject,
  chainId: string,
  checkpoint: ChainCheckpointDetail,
  eventHash?: string,
): boolean {
  const signature = Buffer.from(checkpoint.signature, "base64");
  // Ed25519 signatures are 64 bytes; anything else (or text that is not base64) cannot be one.
  if (signature.length !== 64 || signature.toString("base64") !== checkpoint.signature) return false;
  const valid = (statement: Buffer) => {
    try {
      return verify(null, statement, publicKey, signature);
    } catch {
      return false;
    }
  };
  return (
    (eventHash !== undefined && valid(checkpointStatement(chainId, checkpoint, eventHash))) ||
    valid(checkpointStatement(chainId, checkpoint))
  );
}
