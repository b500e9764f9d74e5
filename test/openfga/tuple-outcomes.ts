import type { OpenFgaClient } from "@openfga/sdk";
import type { MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { fixedRecorder } from "../helpers/recorder.js";

/** Each recorded tuple as [user, success, errorReason], over every TUPLE_CHANGED event. */
export function tupleOutcomes(memory: MemoryEmitter) {
  return memory.events.flatMap((event) =>
    event.detail?.$case === "tupleChange"
      ? event.detail.value.tuples.map((t) => [t.user, t.success, t.errorReason] as const)
      : [],
  );
}

/** An audited tuple writer over `client`, with a caching authorizer it invalidates, recording into memory. */
export function auditedWriter(client: OpenFgaClient) {
  const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
  const { recorder, memory } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });
  return { authorizer, writer, memory, outcomes: () => tupleOutcomes(memory) };
}
