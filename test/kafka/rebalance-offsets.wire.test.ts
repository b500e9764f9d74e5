/**
 * Members of one group joining and leaving while events are published: no member commits a partition's
 * offset back below what the group had committed, and every event is stored once. Through the real
 * `@platformatic/kafka` Consumer against the loopback stand-in that speaks the Kafka wire protocol
 * (wire-broker/: no Kafka broker can run here); the commits are watched in the stand-in's group state.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createIngester, type Ingester } from "../../src/ingest/index.js";
import { createKafkaSource, type KafkaSource } from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
const GROUP = "ingest";
let kafka: WireBroker;
let path: string;
const opened: AuditStore[] = [];
beforeEach(async () => {
  kafka = await startWireBroker();
  path = join(tempDir(), "kafka.db");
});
afterEach(async () => {
  for (const s of opened.splice(0)) s.close();
  await kafka.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Member {
  source: KafkaSource;
  ingester: Ingester;
  stop(): Promise<void>;
}

/** An ingester in the group, in small batches (many commits), into its own handle on the one store. */
async function member(errors: string[]): Promise<Member> {
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: GROUP,
  });
  const store = openAuditStore({ path });
  opened.push(store);
  const ingester = createIngester({
    source,
    store,
    batchSize: 7,
    maxWaitMs: 200,
    retryDelayMs: 100,
    onError: (e) => errors.push(e.message),
  });
  let stopped: Promise<void> | undefined;
  return {
    source,
    ingester,
    stop() {
      stopped ??= ingester.stop().then(() => source.close());
      return stopped;
    },
  };
}

it("members joining and leaving never move a committed offset back, and store each event once", async () => {
  kafka.createTopic(TOPIC, { partitions: 4 });
  const group = kafka.state.coordinator.group(GROUP);
  const backwards: string[] = [];
  const commit = group.commit.bind(group);
  group.commit = (topic, partition, offset) => {
    const before = group.offsets.get(topic)?.get(partition)?.offset;
    if (before !== undefined && offset.offset < before)
      backwards.push(`partition ${partition}: ${before} -> ${offset.offset}`);
    commit(topic, partition, offset);
  };
  const events = seedEvents(1200);
  const publishing = (async () => {
    for (let i = 0; i < events.length; i += 20) {
      await publishToWire(kafka, TOPIC, events.slice(i, i + 20));
      await sleep(20);
    }
  })();
  const errors: string[] = [];
  const members: Member[] = [];
  const inserted = () => members.reduce((sum, m) => sum + m.ingester.stats().inserted, 0);
  /** The event ids stored, each as often as the store holds it. */
  const storedIds = () => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare("SELECT event_id FROM events").all() as { event_id: string }[]).map(
        (r) => r.event_id,
      );
    } finally {
      db.close();
    }
  };
  const highWatermarks = () => kafka.state.topics.get(TOPIC)?.partitions.map((p) => p.highWatermark) ?? [];
  const committed = () => {
    const offsets = kafka.committed(GROUP, TOPIC);
    return highWatermarks().map((_, p) => offsets.get(p)?.offset ?? -1n);
  };
  try {
    // Each join and leave is a rebalance; partitions move away from a member and back to it.
    const m1 = await member(errors);
    members.push(m1);
    await sleep(300);
    const m2 = await member(errors);
    members.push(m2);
    await sleep(300);
    members.push(await member(errors));
    await sleep(400);
    await m2.stop();
    await sleep(200);
    members.push(await member(errors));
    await sleep(150);
    await m1.stop();
    await publishing;
    await until(() => storedIds().length === events.length, "every event stored");
    await until(() => committed().join() === highWatermarks().join(), "every partition committed");
  } finally {
    await publishing;
    for (const m of members) await m.stop();
  }
  expect(backwards).toStrictEqual([]);
  expect(storedIds().sort()).toStrictEqual(events.map((e) => e.eventId).sort());
  expect(inserted()).toBe(events.length);
  // A commit made while its member rejoins waits for the join; on a loaded machine that may pass the
  // ack's 5 s bound, which is reported and harmless: the offset goes with the member's next commit,
  // or its messages are read again (stored once, as checked above).
  const ackBound = `commit on topic "${TOPIC}" failed: no answer within 5000 ms`;
  expect(errors.filter((e) => e !== ackBound)).toStrictEqual([]);
  expect(kafka.errors).toStrictEqual([]);
}, 120_000);
