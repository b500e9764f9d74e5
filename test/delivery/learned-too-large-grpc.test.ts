/**
 * End to end: a fail-closed call with "fail-rpc" whose event the sink refuses as too large only when
 * it writes it. Kafka's limit is the topic's max.message.bytes, which the broker adapter cannot know
 * before a produce: emit used to accept every event as large, and every call was answered OK while its
 * event was dropped after ("too_large", droppedAfterAccept; review R100). Now, after the first refusal,
 * emit refuses events as large and the calls answer UNAVAILABLE. A real gRPC server and client on
 * loopback; Kafka is the loopback stand-in speaking its wire protocol (test/kafka/wire-broker: no Kafka
 * broker can run here), through the real `@platformatic/kafka` client.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";
import { startWireBroker, type WireBroker } from "../kafka/wire-broker/index.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

it("answers UNAVAILABLE to the fail-closed calls after Kafka refused the first event as too large", async () => {
  // Far below an event's record batch (several hundred bytes), and unknown to the adapter.
  kafka.createTopic(TOPIC, { partitions: 1, maxMessageBytes: 300 });
  const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
  const emitter = createBrokerEmitter({
    broker,
    topic: TOPIC,
    delivery: { overflow: "fail-rpc", flushIntervalMs: 0, onError: () => {} },
  });
  const key = await newSigningKey("k1", "ES256");
  const token = await signToken(key, { sub: "alice" });
  const recorder = createRecorder({ service: "projects", emitters: [emitter] });
  const server = await startProjectServer(
    createAuditInterceptors({
      recorder,
      rules: auditRules,
      failMode: "closed",
      authn: { authenticators: [jwtAuthenticatorFor(key)] },
    }),
  );
  const call = async () => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return (await callOfKind(server.client, "unary", metadata)).code;
  };
  try {
    // The first call's events are accepted: Kafka tells only when it is sent them.
    expect(await call()).toBe(status.OK);
    const first = emitter.stats().accepted;
    expect(first).toBeGreaterThan(0);
    await emitter.flush({ timeoutMs: 10_000 });
    const later: status[] = [];
    for (let i = 0; i < 5; i++) later.push(await call());
    expect(later).toStrictEqual(Array(5).fill(status.UNAVAILABLE));

    const stats = emitter.stats();
    expect(stats.accepted).toBe(first);
    expect(stats.delivered).toBe(0);
    expect(stats.droppedAfterAccept).toBe(first);
    expect((stats.dropped.too_large ?? 0) - stats.droppedAfterAccept).toBeGreaterThanOrEqual(5);
    expect(stats.failed).toBe(0);
    expect(kafka.records(TOPIC, 0)).toStrictEqual([]);
  } finally {
    await server.close();
    await recorder.close();
  }
});
