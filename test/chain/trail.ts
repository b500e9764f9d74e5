/** Trails recorded by real Recorders, with a checkpoint signing key, for the chain tests. */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder, type Recorder, type RecorderOptions } from "../../src/recorder/recorder.js";

/** The Ed25519 key pair checkpoints are signed with, id "audit-test". */
export const KEY_ID = "audit-test";
export const { privateKey: SIGNING_KEY, publicKey: PUBLIC_KEY } = generateKeyPairSync("ed25519");
/** The public keys by id, as verifyChains takes them. */
export const PUBLIC_KEYS: ReadonlyMap<string, KeyObject> = new Map([[KEY_ID, PUBLIC_KEY]]);

/** Records `count` mutations ("p-1", "p-2", ...) through `recorder`. */
export function recordMutations(recorder: Recorder, count: number, from = 1): void {
  for (let i = from; i < from + count; i++) {
    recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: `p-${i}` });
  }
}

/**
 * The events of a Recorder that signs a checkpoint every `checkpointEvery` events, after `count`
 * mutations and, unless `open`, its close (which writes the final checkpoint).
 */
export async function recordTrail(
  count: number,
  options: { checkpointEvery?: number; open?: boolean; recorder?: Partial<RecorderOptions> } = {},
): Promise<AuditEvent[]> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: options.checkpointEvery ?? 1000 },
    ...options.recorder,
  });
  recordMutations(recorder, count);
  if (options.open !== true) await recorder.close();
  return [...memory.events];
}
