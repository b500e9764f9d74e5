import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import {
  AUDIT_METRICS,
  instrumentAudit,
  instrumentSink,
  SINK_WRITE_BUCKETS_S,
} from "../../src/otel/index.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { createFakeSink, type FakeSink } from "../helpers/fake-sink.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { type CollectedMetric, testMeterProvider } from "./metric-reader.js";

const DELIVERY = { "grpc_audit.emitter.name": "delivery" };

/** The points of one metric as [attributes, value] pairs, in the order the SDK reports them. */
function points(collected: Map<string, CollectedMetric>, name: string): [unknown, unknown][] {
  return (collected.get(name)?.points ?? []).map((p) => [p.attributes, p.value]);
}

describe("instrumentAudit and instrumentSink over real gRPC", () => {
  const { meterProvider, collect } = testMeterProvider();
  const sink: FakeSink = createFakeSink({ name: "broker" });
  let clockMs = 0;
  const delivery: DeliveryEmitter = createDeliveryEmitter({
    name: "delivery",
    // The clock moves 2.5 ms per reading: every write (read before and after) takes exactly 2.5 ms.
    sink: instrumentSink(sink, { meterProvider, monotonicNowMs: () => (clockMs += 2.5) }),
    flushIntervalMs: 60_000, // batches only on flush: one per scripted call
    sleep: async () => {},
  });
  const memory = createMemoryEmitter({ name: "memory", capacity: 5 });
  const recorder: Recorder = createRecorder({ service: "projects", emitters: [delivery, memory] });
  const instrumentation = instrumentAudit({ recorder, meterProvider });
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  let server: ProjectServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    tokens.expired = await signToken(key, { sub: "alice" }, { nowSec: Math.floor(Date.now() / 1000) - 7200 });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: { authorizer: fake.authorizer, rules: authzRules },
      }),
    );
  });
  afterAll(async () => {
    instrumentation.close();
    await server.close();
    await recorder.close();
  });

  function update(token: string | undefined) {
    const metadata = new Metadata();
    if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
    return unary(
      server.client.updateProject.bind(server.client),
      { project: { id: "p-1", name: "n", ownerId: "" } },
      metadata,
    );
  }

  it("reports every metric with exact values after a scripted run", async () => {
    sink.failures = 1; // the first write fails and is retried
    const codes: (number | undefined)[] = [];
    for (const token of [tokens.alice, tokens.bob, tokens.expired, undefined]) {
      const [error] = await update(token);
      codes.push(error?.code);
      expect((await recorder.flush()).ok).toBe(true);
    }
    expect(codes).toStrictEqual([
      undefined,
      status.PERMISSION_DENIED,
      status.UNAUTHENTICATED,
      status.UNAUTHENTICATED,
    ]);
    // A write the sink holds: its events are in the queue while it is being written.
    sink.mode = "hold";
    await update(tokens.alice);
    const flushing = delivery.flush();
    while (sink.held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const held = sink.held.flatMap((write) => write.batch);
    const during = await collect();
    sink.ackHeld();
    expect((await flushing).ok).toBe(true);
    // After the delivery emitter closed, it drops what it is given, counted by reason and type.
    await delivery.close();
    await update(tokens.alice);
    const after = await collect();

    // During the held write: its 3 events (alice's authn, authz, mutation) and their encoded bytes.
    expect(held).toHaveLength(3);
    expect(points(during, "grpc_audit.delivery.queue.event.count")).toStrictEqual([[DELIVERY, 3]]);
    expect(points(during, "grpc_audit.delivery.queue.usage")).toStrictEqual([
      [DELIVERY, held.reduce((sum, event) => sum + encodeEvent(event).length, 0)],
    ]);

    // Six calls: alice (authn, authz allowed, mutation), bob (authn, authz denied), an expired token
    // (authn), no token (authn), alice held, alice after close: 13 events.
    const type = (t: string) => ({ "grpc_audit.event.type": t });
    const histogram = (count: number) => ({
      min: 0.0025,
      max: 0.0025,
      sum: count * 0.0025,
      buckets: {
        boundaries: [...SINK_WRITE_BUCKETS_S],
        counts: [0, count, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      },
      count,
    });
    expect(Object.fromEntries([...after.keys()].map((name) => [name, points(after, name)]))).toStrictEqual({
      "grpc_audit.events.recorded": [
        [type("authn.result"), 6],
        [type("authz.decision"), 4],
        [type("tuple.change"), 0],
        [type("resource.mutation"), 3],
        [type("resource.access"), 0],
        [type("chain.checkpoint"), 0],
        [type("record.summary"), 0],
      ],
      // The memory emitter keeps 5 events: from the 6th on the Recorder sees its emit as dropped.
      "grpc_audit.events.accepted": [[{}, 5]],
      "grpc_audit.events.failed": [[{}, 0]],
      // Each event the memory emitter or the closed delivery emitter dropped, once: 13 - 5.
      "grpc_audit.record.drops": [[{}, 8]],
      "grpc_audit.record.refusals": [[{}, 0]],
      "grpc_audit.record.errors": [[{}, 0]],
      "grpc_audit.attributes.dropped": [[{}, 0]],
      "grpc_audit.events.dropped": [
        [{ "grpc_audit.emitter.name": "memory", "grpc_audit.drop.reason": "capacity" }, 8],
        [{ ...DELIVERY, "grpc_audit.drop.reason": "closed", ...type("authn.result") }, 1],
        [{ ...DELIVERY, "grpc_audit.drop.reason": "closed", ...type("authz.decision") }, 1],
        [{ ...DELIVERY, "grpc_audit.drop.reason": "closed", ...type("resource.mutation") }, 1],
      ],
      "grpc_audit.authn.attempts": [
        [{ "grpc_audit.authn.outcome": "success" }, 4],
        [{ "grpc_audit.authn.outcome": "failure", "grpc_audit.authn.failure_reason": "expired" }, 1],
        [{ "grpc_audit.authn.outcome": "failure", "grpc_audit.authn.failure_reason": "missing" }, 1],
      ],
      "grpc_audit.authz.decisions": [
        [{ "grpc_audit.authz.decision": "allowed" }, 3],
        [{ "grpc_audit.authz.decision": "denied" }, 1],
        [{ "grpc_audit.authz.decision": "no_rule" }, 0],
        [{ "grpc_audit.authz.decision": "error" }, 0],
      ],
      // Policy "all": nothing skipped, every kind reported.
      "grpc_audit.events.skipped": [
        [type("authn.result"), 0],
        [type("authz.decision"), 0],
        [type("resource.access"), 0],
      ],
      // The events of the first five calls; the sixth came after close.
      "grpc_audit.events.delivered": [[DELIVERY, 10]],
      "grpc_audit.events.dropped_after_accept": [[DELIVERY, 0]],
      "grpc_audit.events.spooled": [[DELIVERY, 0]],
      "grpc_audit.delivery.retries": [[DELIVERY, 1]],
      "grpc_audit.delivery.queue.event.count": [[DELIVERY, 0]],
      "grpc_audit.delivery.queue.usage": [[DELIVERY, 0]],
      "grpc_audit.delivery.parked.event.count": [[DELIVERY, 0]],
      "grpc_audit.delivery.spool.event.count": [[DELIVERY, 0]],
      "grpc_audit.delivery.spool.usage": [[DELIVERY, 0]],
      // One batch per flush (5), and the first attempt that failed.
      "grpc_audit.sink.write.duration": [
        [{ "grpc_audit.sink.name": "broker", "error.type": "Error" }, histogram(1)],
        [{ "grpc_audit.sink.name": "broker" }, histogram(5)],
      ],
    });
    // Every metric is the instrument, unit and description of the table the docs are checked against.
    for (const [key, metric] of Object.entries(AUDIT_METRICS)) {
      expect([key, after.get(metric.name)?.instrument, after.get(metric.name)?.unit]).toStrictEqual([
        key,
        metric.instrument,
        metric.unit,
      ]);
      expect(after.get(metric.name)?.description).toBe(metric.description);
    }
    expect(after.size).toBe(Object.keys(AUDIT_METRICS).length);
  });
});

describe("grpc_audit.events.skipped", () => {
  it("counts the successes a record policy skipped, by event type, beside the attempts", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const recorder = createRecorder({
      service: "projects",
      emitters: [createMemoryEmitter()],
      record: { "authn.result": "failures", "authz.decision": "failures" },
    });
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    const decision = { relation: "viewer", objectType: "project", objectId: "p-1" } as const;
    for (let i = 0; i < 2; i++) recorder.recordAuthnResult({ method: "jwt", success: true });
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
    for (let i = 0; i < 3; i++) recorder.recordAuthzDecision({ ...decision, decision: "allowed" });
    recorder.recordAuthzDecision({ ...decision, decision: "denied" });
    const collected = await collect();
    expect(points(collected, AUDIT_METRICS.skipped.name)).toStrictEqual([
      [{ "grpc_audit.event.type": "authn.result" }, 2],
      [{ "grpc_audit.event.type": "authz.decision" }, 3],
      [{ "grpc_audit.event.type": "resource.access" }, 0],
    ]);
    expect(points(collected, AUDIT_METRICS.recorded.name)).toContainEqual([
      { "grpc_audit.event.type": "authz.decision" },
      1,
    ]);
    expect(points(collected, AUDIT_METRICS.authz.name)).toContainEqual([
      { "grpc_audit.authz.decision": "allowed" },
      3,
    ]);
    instrumentation.close();
    await recorder.close();
  });
});
