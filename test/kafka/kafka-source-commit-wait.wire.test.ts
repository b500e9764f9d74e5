/**
 * An ack whose commit the group coordinator never answers gives up after 5 s, as the NATS source's
 * acks do, not after the client's request timeout (30 s, twice for a stopping ingester's two batches).
 * Through the real `@platformatic/kafka` Consumer against the loopback stand-in that speaks the Kafka
 * wire protocol (wire-broker/: no Kafka broker can run here), which holds its OffsetCommit answers.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createKafkaSource } from "../../src/kafka/index.js";
import { seedEvents } from "../cli/helpers.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

it("an ack whose commit the coordinator does not answer rejects within 5 s", async () => {
  kafka.createTopic(TOPIC, { partitions: 1 });
  await publishToWire(kafka, TOPIC, seedEvents(10));
  // The client's request timeout above the source's bound, so that only the source's bound ends the ack.
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: "ingest",
    timeoutMs: 60_000,
  });
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    const running = new AbortController().signal;
    // A fetch hands out what came within its wait: on a loaded machine that may be fewer than all.
    const messages = [];
    while (messages.length < 10) messages.push(...(await source.fetch(10 - messages.length, 2000, running)));
    expect(messages).toHaveLength(10);
    kafka.state.holdAnswer = (api) => (api === "OffsetCommit" ? held : undefined);
    const acked = await source.ack(messages).then(
      () => "acked",
      (error: Error) => error.message,
    );
    expect(acked).toBe(`commit on topic "${TOPIC}" failed: no answer within 5000 ms`);
  } finally {
    kafka.state.holdAnswer = undefined;
    release();
    await source.close();
  }
}, 40_000);
