// "resource.mutation": "fail-rpc" with a fail-closed rule promises that a mutation event the pipeline
// cannot keep fails its call (UNAVAILABLE) instead of being dropped (docs/operations.md): a kind with
// "drop-oldest" must never evict such a mutation once accepted (its call was answered OK) to make room
// for another event; the new event is dropped instead.
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";

describe("drop-oldest and a fail-rpc kind", () => {
  it("never evicts a mutation whose fail-closed call was answered OK", async () => {
    const key = await newSigningKey("k1", "ES256");
    const token = await signToken(key, { sub: "alice" });
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      maxQueueEvents: 3,
      maxBatchEvents: 1,
      flushIntervalMs: 1,
      overflow: { default: "drop-oldest", "resource.mutation": "fail-rpc" },
    });
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        failMode: "closed",
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
      }),
    );
    try {
      const call = async () => {
        const metadata = new Metadata();
        metadata.set("authorization", `Bearer ${token}`);
        return (await callOfKind(server.client, "unary", metadata)).code;
      };
      // The sink hangs: the first batch (one event: call 1's authn) stays in flight; call 1's mutation
      // and later events queue behind it (3 events in memory at most, the one in flight included).
      const codes: status[] = [];
      for (let i = 0; i < 6; i++) codes.push(await call());
      // Every authn event that finds the queue full evicts the oldest queued event; a mutation that
      // finds it full fails its call. Some calls were answered OK: their mutations were accepted.
      const answeredOk = codes.filter((code) => code === status.OK).length;
      expect(answeredOk).toBeGreaterThan(0);
      expect(codes.filter((code) => code === status.UNAVAILABLE).length).toBeGreaterThan(0);
      // None of those accepted mutations may be evicted: each was answered OK under fail-closed.
      const stats = emitter.stats();
      expect(stats.droppedByReasonAndKind.queue_full?.["resource.mutation"] ?? 0).toBe(0);
      sink.mode = "ack";
      sink.ackHeld();
      await recorder.close();
      const mutations = sink.received.flat().filter((e) => e.eventType === "EVENT_TYPE_RESOURCE_MUTATION");
      expect(mutations).toHaveLength(answeredOk);
    } finally {
      await server.close();
    }
  });
});
