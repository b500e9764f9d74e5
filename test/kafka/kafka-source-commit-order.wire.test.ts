/**
 * A commit the client sends again (it retries one answered NOT_COORDINATOR, 1 s later) never moves
 * the group's committed offset of a partition back below one a later commit stored: the ingester
 * acks one batch while it fetches the next (whose fetch commits again what failed to commit), so
 * commits of one partition overlap, and an older one's retry could reach Kafka after a newer one.
 * Through the real `@platformatic/kafka` Consumer against the loopback stand-in that speaks the Kafka
 * wire protocol (wire-broker/: no Kafka broker can run here), which answers the first commits
 * NOT_COORDINATOR and records every offset it stores.
 */
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createIngester } from "../../src/ingest/index.js";
import { createKafkaSource } from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { fetchAll } from "./fetch-all.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
const GROUP = "ingest";
/** Kafka's error code NOT_COORDINATOR: retriable, so the client sends the same commit again. */
const NOT_COORDINATOR = 16;

let kafka: WireBroker;
let store: AuditStore;
beforeEach(async () => {
  kafka = await startWireBroker();
  store = openAuditStore({ path: join(tempDir(), "kafka.db") });
});
afterEach(async () => {
  store.close();
  await kafka.close();
});

/** Records every offset the stand-in stores for `groupId`, per partition, in the order it stores them. */
function recordStored(groupId: string): Map<number, bigint[]> {
  const group = kafka.state.coordinator.group(groupId);
  const stored = new Map<number, bigint[]>();
  const commit = group.commit.bind(group);
  group.commit = (topic, partition, offset) => {
    stored.set(partition, [...(stored.get(partition) ?? []), offset.offset]);
    commit(topic, partition, offset);
  };
  return stored;
}

/** Answers the first `count` commits of `groupId` NOT_COORDINATOR; returns how many commits came so far. */
function refuseCommits(groupId: string, count: number): () => number {
  const group = kafka.state.coordinator.group(groupId);
  const checkCommit = group.checkCommit.bind(group);
  let made = 0;
  group.checkCommit = (generation, member) =>
    made++ < count ? NOT_COORDINATOR : checkCommit(generation, member);
  return () => made;
}

/** Where an offset stored is below the one stored before it on its partition: "p0: 14 -> 7". */
const backwards = (stored: ReadonlyMap<number, readonly bigint[]>) =>
  [...stored].flatMap(([partition, offsets]) =>
    offsets.flatMap((o, i) => {
      const before = offsets[i - 1];
      return before !== undefined && o < before ? [`p${partition}: ${before} -> ${o}`] : [];
    }),
  );

const ends = () => kafka.state.topics.get(TOPIC)?.partitions.map((p) => p.highWatermark) ?? [];
const committed = () => ends().map((_, p) => kafka.committed(GROUP, TOPIC).get(p)?.offset ?? -1n);

it("leaves an older commit's retry out once a newer commit of its partition was stored", async () => {
  kafka.createTopic(TOPIC);
  await publishToWire(kafka, TOPIC, seedEvents(14));
  const stored = recordStored(GROUP);
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: GROUP,
  });
  try {
    const running = new AbortController().signal;
    const first = await fetchAll(source, 7, running);
    const second = await fetchAll(source, 7, running);
    // The first batch's commit (offset 7) is refused, and the client sends it again 1 s later; the
    // second batch's (offset 14) goes out meanwhile and is stored.
    const commits = refuseCommits(GROUP, 1);
    const firstAck = source.ack(first);
    await until(() => commits() === 1, "the first commit refused");
    await source.ack(second);
    expect(stored.get(0)).toStrictEqual([14n]);
    await firstAck;
  } finally {
    await source.close();
  }
  expect(backwards(stored)).toStrictEqual([]);
  expect(committed()).toStrictEqual([14n]);
}, 30_000);

it("stores no partition's offset below one stored before, and ends at the consumed ends, as the ingester commits", async () => {
  kafka.createTopic(TOPIC, { partitions: 4 });
  const events = seedEvents(60);
  await publishToWire(kafka, TOPIC, events);
  const stored = recordStored(GROUP);
  const commits = refuseCommits(GROUP, 6);
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: GROUP,
  });
  const errors: string[] = [];
  const ingester = createIngester({
    source,
    store,
    batchSize: 7,
    maxWaitMs: 1000,
    retryDelayMs: 10,
    onError: (e) => errors.push(e.message),
  });
  try {
    await until(
      () => store.query({}, { limit: 1000 }).events.length === events.length && commits() > 6,
      "every event stored, and the refused commits made",
    );
    // The commits refused are made again with the next ones. An offset stored backwards ends the wait
    // at once, for the assertions below to name it.
    await until(
      () => committed().join() === ends().join() || backwards(stored).length > 0,
      "the consumed ends committed, or an offset stored backwards",
    );
  } finally {
    await ingester.stop();
    await source.close();
  }
  expect(backwards(stored)).toStrictEqual([]);
  expect(committed()).toStrictEqual(ends());
  expect(ends().reduce((sum, end) => sum + end, 0n)).toBe(60n);
  expect(errors.filter((e) => !e.startsWith(`commit on topic "${TOPIC}" failed`))).toStrictEqual([]);
}, 60_000);
