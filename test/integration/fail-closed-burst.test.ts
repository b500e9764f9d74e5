// a burst of fail-closed calls through the whole chain (real JWTs, authz, rules) into a
// delivery pipeline with a small queue and a different overflow policy per kind. Whatever each event
// met, the counts add up: every UNAVAILABLE "audit unavailable" is a mutation the pipeline refused
// ("fail-rpc"), every other call ended OK with its mutation accepted, and once drained every event
// built is delivered, dropped (by a reason) or failed — none lost silently.
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";

const CALLS = 60;
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

describe("a fail-closed burst into a small delivery queue", () => {
  it("answers UNAVAILABLE exactly for the refused mutations, and every event is counted once", async () => {
    const key = await newSigningKey("k1", "ES256");
    const token = await signToken(key, { sub: "alice" });
    const sink = createFakeSink();
    sink.delayMs = 5;
    const emitter = createDeliveryEmitter({
      sink,
      maxQueueEvents: 6,
      maxBatchEvents: 2,
      flushIntervalMs: 1,
      overflow: {
        default: "drop-newest",
        "resource.mutation": "fail-rpc",
        "authn.result": "drop-oldest",
        "authz.decision": "park",
      },
      park: { timeoutMs: 30, maxParked: 2 },
    });
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    const fake = createFakeAuthorizer(["owner", "editor"].map((r) => `user:alice|${r}|project:p-1`));
    fake.state.cache = "hit";
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        failMode: "closed",
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: { authorizer: fake.authorizer, rules: authzRules },
      }),
    );
    try {
      const metadata = () => {
        const m = new Metadata();
        m.set("authorization", `Bearer ${token}`);
        return m;
      };
      const seen = await Promise.all(
        Array.from({ length: CALLS }, () => callOfKind(server.client, "unary", metadata())),
      );
      const unavailable = seen.filter((s) => s.code === status.UNAVAILABLE).length;
      const ok = seen.filter((s) => s.code === status.OK).length;
      expect(ok + unavailable).toBe(CALLS);

      const stats = recorder.stats();
      const built = sum(Object.values(stats.recorded));
      expect(stats.recorded).toMatchObject({
        "authn.result": CALLS,
        "authz.decision": CALLS,
        "resource.mutation": CALLS,
      });
      expect(stats.accepted + stats.dropped + stats.failed).toBe(built);
      expect(stats.failed).toBe(unavailable); // only mutations fail ("fail-rpc"), each one refused
      expect(stats.emitter.failed).toBe(unavailable);

      await recorder.close();
      const delivery = emitter.stats();
      expect(delivery.queueEvents + delivery.parkedEvents).toBe(0);
      const received = new Set(sink.receivedIds()).size;
      expect(received + sum(Object.values(delivery.dropped)) + delivery.failed).toBe(built);
      expect(sum(Object.values(delivery.droppedByKind))).toBe(sum(Object.values(delivery.dropped)));
    } finally {
      await server.close();
    }
  });
});
