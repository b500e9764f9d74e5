// createIngester with createKafkaSource, on a fake Kafka cluster at the client boundary (no broker runs
// here; the KAFKA_BROKERS opt-in test runs a real one), into a real SQLite store file: events written by
// the real Kafka broker emitter are stored once, offsets are committed only after the insert, per
// partition up to the first message not stored, a crash before the commit and a failed insert give
// redeliveries the store skips, poison messages go to the dead-letter topic, lag is high watermark −
// committed.
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEncoding } from "../../src/brokers/event-headers.js";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester, type IngestStore } from "../../src/ingest/index.js";
import {
  createKafkaSource,
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
} from "../../src/kafka/index.js";
import { seedEvents } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { fakeIngestSetup, ids, publishToFake, storedIds, TOPIC } from "./fake-ingest.js";
import type { FakeKafka } from "./fake-kafka.js";
import { fetchAll } from "./fetch-all.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/**
 * How long an ingester's fetch waits for its batch to fill. The fake pushes what a partition holds
 * at once, and these tests wait for events, not for the batching: the default 1 s only slowed them.
 */
const maxWaitMs = 50;

const setup = (partitions = 3) => fakeIngestSetup(open, partitions);
const publish = (kafka: FakeKafka, events: readonly AuditEvent[], encoding: BrokerEncoding = "protobuf") =>
  publishToFake(kafka, events, { encoding, cloudEvents: true });

describe("createKafkaSource with createIngester into a SQLite store", () => {
  it("stores every event a Kafka broker emitter published once, protobuf and JSON, then commits every partition's end", async () => {
    const { kafka, store, source } = setup();
    const events = seedEvents(200);
    await publish(kafka, events.slice(0, 120));
    await publish(kafka, events.slice(120), "json");
    const ingester = createIngester({ source: await source(), store, batchSize: 64, maxWaitMs });
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(storedIds(store)).toStrictEqual(ids(events));
    expect(ingester.stats()).toMatchObject({
      received: 200,
      inserted: 200,
      duplicates: 0,
      deadLettered: 0,
      errors: 0,
    });
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
    expect(kafka.consumerOptions[0]).toMatchObject({
      groupId: "ingest",
      clientId: "grpc-audit-ingest",
      autocommit: false,
    });
    expect(kafka.consumeOptions[0]).toMatchObject({
      topics: [TOPIC],
      mode: "committed",
      fallbackMode: "earliest",
      autocommit: false,
    });
  });

  it("commits a batch's offsets only after its insert committed", async () => {
    const { kafka, store, source } = setup(1);
    const events = seedEvents(10);
    await publish(kafka, events);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserting = false;
    const slow: IngestStore = {
      insert: async (batch) => {
        inserting = true;
        await held;
        return store.insert(batch);
      },
    };
    const ingester = createIngester({ source: await source(), store: slow, maxWaitMs });
    await until(() => inserting, "the insert to start");
    await new Promise((resolve) => setImmediate(resolve));
    expect(kafka.commits).toStrictEqual([]);
    release();
    await until(() => kafka.commits.length > 0, "a commit");
    await ingester.stop();
    expect(kafka.commits).toStrictEqual([{ partition: 0, offset: 10 }]);
    expect(storedIds(store)).toStrictEqual(ids(events));
  });

  it("after a crash between insert and commit, the group's next member gets the messages again and the store holds each once", async () => {
    const { kafka, store, source } = setup();
    const events = seedEvents(90);
    await publish(kafka, events);
    kafka.failCommits = new Error("the coordinator went away");
    const first = await source();
    const crashed = createIngester({ source: first, store, maxWaitMs, onError: () => {} });
    await until(() => crashed.stats().inserted === events.length, "every event inserted");
    await crashed.stop();
    await first.close();
    expect(kafka.committed()).toStrictEqual([0, 0, 0]);
    kafka.failCommits = undefined;

    const next = createIngester({ source: await source(), store, maxWaitMs });
    await until(() => next.stats().received === events.length, "every message received again");
    await next.stop();
    expect(next.stats()).toMatchObject({ inserted: 0, duplicates: events.length, errors: 0 });
    expect(storedIds(store)).toStrictEqual(ids(events));
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
  });

  it("reads the partitions again from the committed offsets after a failed insert, and stores the batch once the store works", async () => {
    const { kafka, store, source } = setup(2);
    const events = seedEvents(40);
    await publish(kafka, events);
    let failures = 2;
    const flaky: IngestStore = {
      insert: (batch) =>
        failures-- > 0 ? Promise.reject(new Error("database restarting")) : store.insert(batch),
    };
    const errors: string[] = [];
    const ingester = createIngester({
      source: await source(),
      store: flaky,
      retryDelayMs: 10,
      maxWaitMs,
      onError: (error) => errors.push(error.message),
    });
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(errors).toStrictEqual(["database restarting", "database restarting"]);
    expect(ingester.stats()).toMatchObject({ errors: 2, inserted: events.length, duplicates: 0 });
    // One stream at the start, and one more from the committed offsets after each failed batch.
    expect(kafka.consumeOptions).toHaveLength(3);
    expect(storedIds(store)).toStrictEqual(ids(events));
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
  });

  it("sends undecodable messages to the dead-letter topic, counts them, stores the rest and commits past them", async () => {
    const { kafka, store, source } = setup(1);
    const before = seedEvents(5);
    await publish(kafka, before);
    kafka.append(0, "\xff\xff\xff not protobuf", {
      [BROKER_HEADER.CONTENT_TYPE]: BROKER_CONTENT_TYPE.protobuf,
    });
    kafka.append(0, '{"eventId": "e-1"}', { [BROKER_HEADER.CONTENT_TYPE]: BROKER_CONTENT_TYPE.json });
    kafka.append(0, "hello", { [BROKER_HEADER.CONTENT_TYPE]: "text/plain" });
    const after = seedEvents(5);
    await publish(kafka, after, "json");
    const ingester = createIngester({ source: await source(), store, maxWaitMs });
    await until(() => ingester.stats().received === 13, "every message received");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ deadLettered: 3, inserted: 10, errors: 0 });
    expect(storedIds(store)).toStrictEqual(ids([...before, ...after]));
    expect(kafka.produced.map((m) => m.topic)).toStrictEqual(Array(3).fill(`${TOPIC}.dead-letter`));
    expect(kafka.produced.map((m) => m.headers[DEAD_LETTER_FROM_HEADER])).toStrictEqual([
      `${TOPIC}/0@5`,
      `${TOPIC}/0@6`,
      `${TOPIC}/0@7`,
    ]);
    expect(kafka.produced.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([
      expect.stringMatching(/^not an AuditEvent as application\/x-protobuf: /),
      "the event has no occurredAt",
      'unknown content-type "text/plain"',
    ]);
    expect(kafka.produced[2]).toMatchObject({ key: "k-7", value: Buffer.from("hello") });
    expect(kafka.produced[2]?.headers[BROKER_HEADER.CONTENT_TYPE]).toBe("text/plain");
    expect(kafka.committed()).toStrictEqual([13]);
  });

  it("does not commit past a poison message whose dead letter failed: it comes back and is sent later", async () => {
    const { kafka, store, source } = setup(1);
    const events = seedEvents(4);
    await publish(kafka, events.slice(0, 2));
    kafka.append(0, "hello", { [BROKER_HEADER.CONTENT_TYPE]: "text/plain" });
    await publish(kafka, events.slice(2));
    kafka.failSends = new Error("dead-letter topic unavailable");
    const errors: string[] = [];
    const ingester = createIngester({
      source: await source(),
      store,
      retryDelayMs: 10,
      maxWaitMs,
      onError: (error) => errors.push(error.message),
    });
    await until(() => errors.length > 0 && ingester.stats().inserted === 4, "a failed dead letter");
    expect(kafka.committed()).toStrictEqual([2]);
    kafka.failSends = undefined;
    await until(() => ingester.stats().deadLettered === 1, "the dead letter sent");
    await until(() => kafka.committed()[0] === 5, "the commit past it");
    await ingester.stop();
    expect(errors[0]).toBe('dead letter to "audit-events.dead-letter" failed: dead-letter topic unavailable');
    expect(kafka.produced).toHaveLength(1);
    expect(storedIds(store)).toStrictEqual(ids(events));
  });

  it("reports the lag of its partitions: high watermark − committed offset, after each fetch", async () => {
    const { kafka, source } = setup(2);
    for (let i = 0; i < 10; i++) kafka.append(i % 2, `m-${i}`);
    const s = await source();
    expect(s.lag()).toBeUndefined();
    const stop = new AbortController();
    const first = await fetchAll(s, 4, stop.signal);
    await until(() => s.lag() === 10, "the lag of 10 uncommitted");
    await s.ack(first);
    await s.fetch(10, 1, stop.signal);
    await until(() => s.lag() === 6, "the lag after committing 4");
  });

  it("commits a partition only up to its first message not yet acknowledged", async () => {
    const { kafka, source } = setup(1);
    for (let i = 0; i < 6; i++) kafka.append(0, `m-${i}`);
    const s = await source();
    const messages = await fetchAll(s, 6, new AbortController().signal);
    await s.ack(messages.slice(2, 4));
    expect(kafka.commits).toStrictEqual([]);
    await s.ack(messages.slice(0, 2));
    await s.ack(messages.slice(5));
    await s.ack(messages.slice(4, 5));
    expect(kafka.commits).toStrictEqual([
      { partition: 0, offset: 4 },
      { partition: 0, offset: 6 },
    ]);
  });

  it("does not commit a partition the group gave to another member meanwhile", async () => {
    const { kafka, source } = setup(2);
    for (let i = 0; i < 4; i++) kafka.append(i % 2, `m-${i}`);
    const first = await source();
    const messages = await fetchAll(first, 4, new AbortController().signal);
    expect(messages.map((m) => m.where).sort()).toStrictEqual([
      `${TOPIC}/0@0`,
      `${TOPIC}/0@1`,
      `${TOPIC}/1@0`,
      `${TOPIC}/1@1`,
    ]);
    await source(); // joins: partition 1 goes to it
    await first.ack(messages);
    expect(kafka.commits).toStrictEqual([{ partition: 0, offset: 2 }]);
  });

  it("two ingesters with one group id share the partitions, also after one joined mid-stream; the store holds each event once", async () => {
    const { kafka, store, source } = setup(4);
    const events = seedEvents(400);
    await publish(kafka, events);
    // The first member stores one batch, then waits until the second joined (a rebalance).
    let joined: () => void = () => {};
    const rebalanced = new Promise<void>((resolve) => {
      joined = resolve;
    });
    let inserts = 0;
    const gated: IngestStore = {
      insert: async (batch) => {
        if (inserts++ === 1) await rebalanced;
        return store.insert(batch);
      },
    };
    const ingesters = [createIngester({ source: await source(), store: gated, batchSize: 25, maxWaitMs })];
    await until(() => inserts === 2, "the first member's second batch");
    ingesters.push(createIngester({ source: await source(), store, batchSize: 25, maxWaitMs }));
    await until(() => kafka.memberCount() === 2, "the second member in the group");
    joined();
    const total = () => ingesters.reduce((sum, i) => sum + i.stats().inserted, 0);
    await until(() => total() === events.length, "every event inserted");
    await Promise.all(ingesters.map((i) => i.stop()));
    expect(storedIds(store)).toStrictEqual(ids(events));
    for (const ingester of ingesters) expect(ingester.stats().batches).toBeGreaterThan(0);
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
  });

  it("reports a failed stream and reads on from the committed offsets on a new one", async () => {
    const { kafka, store, source } = setup(2);
    const events = seedEvents(30);
    await publish(kafka, events.slice(0, 10));
    const errors: string[] = [];
    const ingester = createIngester({
      source: await source(),
      store,
      retryDelayMs: 10,
      maxWaitMs,
      onError: (error) => errors.push(error.message),
    });
    await until(() => ingester.stats().inserted === 10, "the first events");
    kafka.failStreams(new Error("fetch failed"));
    await publish(kafka, events.slice(10));
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(errors).toStrictEqual([`reading topic "${TOPIC}" failed: fetch failed`]);
    expect(storedIds(store)).toStrictEqual(ids(events));
  });
});

describe("createKafkaSource options", () => {
  it("rejects bad options with an AuditConfigError naming the option", async () => {
    const base = { bootstrapBrokers: ["kafka:9092"], topic: TOPIC, groupId: "ingest" };
    await expect(createKafkaSource({ ...base, bootstrapBrokers: ["kafka"] })).rejects.toThrow(
      /`bootstrapBrokers` must be a non-empty list of "host:port"/,
    );
    await expect(createKafkaSource({ ...base, topic: "audit events" })).rejects.toThrow(
      /`topic` must be a Kafka topic name .*, got "audit events"/,
    );
    await expect(createKafkaSource({ ...base, groupId: " " })).rejects.toThrow(
      /`groupId` must be a non-empty string/,
    );
    await expect(createKafkaSource({ ...base, deadLetterTopic: TOPIC })).rejects.toThrow(
      /`deadLetterTopic` must differ from `topic`/,
    );
    await expect(createKafkaSource({ ...base, timeoutMs: 0 })).rejects.toThrow(
      /`timeoutMs` must be an integer of ms from 1 to 2147483647/,
    );
    await expect(createKafkaSource({ ...base, timeoutMs: 0 })).rejects.toMatchObject({
      name: "AuditConfigError",
    });
  });
});
