/**
 * End to end: a fail-closed call with "fail-rpc" whose event the sink refuses as too large only when
 * it writes it. Kafka's limit is the topic's max.message.bytes, which the broker adapter cannot know
 * before a produce: emit used to accept every event as large, and every call was answered OK while its
 * event was dropped after ("too_large", droppedAfterAccept; review R100). Now, after the first refusal,
 * emit refuses events as large and the calls answer UNAVAILABLE. A real gRPC server and client on
 * loopback; Kafka is the loopback stand-in speaking its wire protocol (test/kafka/wire-broker: no Kafka
 * broker can run here), through the real `@platformatic/kafka` client.
 */
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { startWireBroker, type WireBroker } from "../kafka/wire-broker/index.js";
import { callsAfterRefusal } from "./fail-closed-after-refusal.js";

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
  const { first, later, stats } = await callsAfterRefusal(emitter);
  // The first call's events are accepted: Kafka tells only when it is sent them.
  expect(first.code).toBe(status.OK);
  expect(first.accepted).toBeGreaterThan(0);
  expect(later).toStrictEqual(Array(5).fill(status.UNAVAILABLE));
  expect(stats.accepted).toBe(first.accepted);
  expect(stats.delivered).toBe(0);
  expect(stats.droppedAfterAccept).toBe(first.accepted);
  expect((stats.dropped.too_large ?? 0) - stats.droppedAfterAccept).toBeGreaterThanOrEqual(5);
  expect(stats.failed).toBe(0);
  expect(kafka.records(TOPIC, 0)).toStrictEqual([]);
});
