/** Ways to tamper with a recorded trail, each as an attacker or an accident would. */
import { generateKeyPairSync } from "node:crypto";
import { chainHash } from "../../src/chain/canonical.js";
import { signCheckpoint } from "../../src/chain/checkpoint.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

/** A copy of the event with another target id; its stored hash is left as it was. */
export function edited(event: AuditEvent): AuditEvent {
  return { ...event, target: { type: "project", id: "p-forged", name: "" } };
}

/** `edited`, with its own hash recomputed (an attacker who knows the format). */
export function editedAndRehashed(event: AuditEvent): AuditEvent {
  return rehashed(edited(event));
}

/** The event with `chain.hash` recomputed over what it now holds. */
export function rehashed(event: AuditEvent): AuditEvent {
  if (event.chain === undefined) throw new Error("the event has no chain");
  const copy = { ...event, chain: { ...event.chain, hash: "" } };
  return { ...copy, chain: { ...copy.chain, hash: chainHash(copy) } };
}

/** A checkpoint event changed by `change` to its detail, then signed again with a key nobody trusts and rehashed. */
export function forgedCheckpoint(
  event: AuditEvent,
  change: (detail: { headSeq: number; headHash: string; final: boolean }) => void = () => {},
): AuditEvent {
  if (event.detail?.$case !== "checkpoint" || event.chain === undefined) throw new Error("not a checkpoint");
  const detail = { ...event.detail.value };
  change(detail);
  detail.signature = signCheckpoint(generateKeyPairSync("ed25519").privateKey, event.chain.chainId, detail);
  return rehashed({ ...event, detail: { $case: "checkpoint", value: detail } });
}

/** A checkpoint whose head hash is edited and whose event hash is recomputed, the signature kept. */
export function editedHead(event: AuditEvent): AuditEvent {
  if (event.detail?.$case !== "checkpoint") throw new Error("not a checkpoint");
  return rehashed({
    ...event,
    detail: { $case: "checkpoint", value: { ...event.detail.value, headHash: "0".repeat(64) } },
  });
}
