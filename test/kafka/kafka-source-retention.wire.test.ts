/**
 * createKafkaSource when retention removed messages the group had not stored, through the real
 * `@platformatic/kafka` Consumer against a loopback stand-in that speaks the Kafka wire protocol
 * (wire-broker/: no Kafka broker can run here). The stand-in answers a fetch below a partition's log
 * start with OFFSET_OUT_OF_RANGE, as Kafka does; the source moves past the removed messages, counts
 * them in lost() and stores the rest, into a real SQLite store.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester } from "../../src/ingest/index.js";
import { createKafkaSource } from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
const GROUP = "ingest";
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

const publish = (events: readonly AuditEvent[]) => publishToWire(kafka, TOPIC, events);

/** Runs a source and ingester until `done`, then stops both; resolves to what they counted. */
async function ingestUntil(done: (inserted: number) => boolean, what: string) {
  const errors: string[] = [];
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: GROUP,
  });
  const ingester = createIngester({
    source,
    store,
    retryDelayMs: 10,
    onError: (e) => errors.push(e.message),
  });
  try {
    await until(() => done(ingester.stats().inserted), what);
    await until(() => kafka.committed(GROUP, TOPIC).get(0)?.offset === highWatermark(), "the end committed");
  } finally {
    await ingester.stop();
    await source.close();
  }
  return { stats: ingester.stats(), lost: source.lost(), errors };
}

const highWatermark = () => kafka.state.partition(TOPIC, 0)?.highWatermark;
const storedIds = () => new Set(store.query({}, { limit: 1000 }).events.map((e) => e.eventId));
const ids = (events: readonly AuditEvent[]) => new Set(events.map((e) => e.eventId));

describe("createKafkaSource when retention removed messages not yet stored (loopback stand-in broker)", () => {
  it("counts those between the committed offset and the log start as lost, stores the rest, commits the end", async () => {
    kafka.createTopic(TOPIC, { partitions: 1 });
    const events = seedEvents(20);
    await publish(events.slice(0, 10));
    const first = await ingestUntil((inserted) => inserted === 10, "the first ten stored");
    expect(first).toMatchObject({ lost: 0, errors: [] });
    expect(kafka.committed(GROUP, TOPIC).get(0)?.offset).toBe(10n);

    await publish(events.slice(10));
    // Retention removes offsets 10 to 14 while no ingester runs: the group's committed 10 is below the log start.
    kafka.deleteRecords(TOPIC, 0, 15n);
    const second = await ingestUntil((inserted) => inserted === 5, "the five after the log start stored");

    expect(storedIds()).toStrictEqual(ids([...events.slice(0, 10), ...events.slice(15)]));
    // The real consumer's fetch at 10 was answered OFFSET_OUT_OF_RANGE; the ingester reports the loss once.
    expect(kafka.state.fetchesOutOfRange).toBeGreaterThan(0);
    expect(second.errors).toStrictEqual([expect.stringMatching(/\b5 messages were removed by the broker\b/)]);
    expect(second.lost).toBe(5);
    expect(second.stats).toMatchObject({ inserted: 5, errors: 0 });
    expect(kafka.committed(GROUP, TOPIC).get(0)?.offset).toBe(20n);
    expect(kafka.errors).toStrictEqual([]);
  }, 60_000);

  it("a group without a committed offset starts at the log start and counts nothing as lost", async () => {
    kafka.createTopic(TOPIC, { partitions: 1 });
    const events = seedEvents(12);
    await publish(events);
    kafka.deleteRecords(TOPIC, 0, 4n);
    const run = await ingestUntil((inserted) => inserted === 8, "the eight after the log start stored");
    expect(storedIds()).toStrictEqual(ids(events.slice(4)));
    expect(run).toMatchObject({ lost: 0, errors: [] });
    expect(kafka.state.fetchesOutOfRange).toBe(0);
    expect(kafka.errors).toStrictEqual([]);
  }, 60_000);
});
