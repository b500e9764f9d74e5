// Kafka → PostgreSQL: three members of one group on the fake cluster (the client boundary) into a real
// PostgreSQL. Servers' chained trails are published by real Recorders through the Kafka broker
// emitter; one ingester "crashes" after inserting batches it could not commit, two others take its
// partitions over: every event id is in PostgreSQL exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester } from "../../src/ingest/index.js";
import { createKafkaBroker, createKafkaSource } from "../../src/kafka/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";
import { storedIds, until } from "../ingest/fleet.js";
import { type FakeKafka, fakeKafka } from "./fake-kafka.js";

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgresServer();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

/** One server's chained trail of `count` mutations, published through the Kafka broker emitter. */
async function publishTrail(kafka: FakeKafka, service: string, count: number): Promise<AuditEvent[]> {
  const broker = createKafkaBroker({
    bootstrapBrokers: ["k1:9092"],
    clientId: service,
    createProducer: (o) => kafka.createProducer(o),
  });
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service,
    emitters: [memory, createBrokerEmitter({ broker, topic: kafka.topic })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 50 },
  });
  recordMutations(recorder, count);
  const closed = await recorder.close();
  await broker.close();
  if (!closed.ok) throw new Error(`the recorder did not deliver every event: ${JSON.stringify(closed)}`);
  return [...memory.events];
}

describe("createKafkaSource into PostgreSQL", () => {
  it("an ingester that dies after inserts it could not commit: the group's others store the rest, each event once", async () => {
    const kafka = fakeKafka("audit-events", 4);
    const events = (
      await Promise.all(["projects", "billing", "users"].map((s) => publishTrail(kafka, s, 100)))
    ).flat();
    const url = await postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const source = () =>
      createKafkaSource({
        bootstrapBrokers: ["k1:9092"],
        topic: kafka.topic,
        groupId: "ingest",
        createConsumer: (o) => kafka.createConsumer(o),
        createProducer: (o) => kafka.createProducer(o),
      });

    // Two batches of partition 0 committed, then the coordinator goes away: the third batch and any
    // after it are inserted, never committed (set in the third commit, not on a poll that may come late
    // when the whole trail is stored). The source commits a batch with one message's commit per partition.
    let commits = 0;
    kafka.beforeMessageCommit = () => {
      if (++commits === 3) kafka.failCommits = new Error("the coordinator went away");
    };
    const dying = await source();
    const first = createIngester({ source: dying, store, batchSize: 20, onError: () => {} });
    await until(() => first.stats().errors >= 1, "a batch inserted but not committed");
    await first.stop();
    await dying.close();
    kafka.beforeMessageCommit = undefined;
    kafka.failCommits = undefined;
    expect(kafka.committed()).toStrictEqual([40, 0, 0, 0]);

    // Both join the group before a message flows, so each reads its own half of the partitions.
    kafka.holdMessages = true;
    const sources = [await source(), await source()];
    const others = sources.map((s) => createIngester({ source: s, store, batchSize: 20 }));
    await until(() => kafka.memberCount() === 2, "both in the group");
    kafka.holdMessages = false;
    kafka.deliver();
    await until(
      () => kafka.committed().join() === kafka.highWatermarks().join(),
      "every partition committed",
    );
    await Promise.all(others.map((i) => i.stop()));
    await Promise.all(sources.map((s) => s.close()));
    await store.close();

    const ids = await storedIds(url);
    expect(ids).toStrictEqual(new Map(events.map((e) => [e.eventId, 1])));
    const all = [first, ...others].map((i) => i.stats());
    expect(all.reduce((sum, s) => sum + s.inserted, 0)).toBe(events.length);
    // The batches the first one stored without committing came again, and were skipped.
    expect(others.reduce((sum, i) => sum + i.stats().duplicates, 0)).toBeGreaterThan(0);
    for (const ingester of others) expect(ingester.stats().batches).toBeGreaterThan(0);
  }, 60_000);
});
