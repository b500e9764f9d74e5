// What the fake-cluster source tests share: a fake Kafka cluster with a SQLite store file and a
// source factory on both, and publishing through the real Kafka broker and broker sink, as servers do.
import { join } from "node:path";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import type { BrokerEncoding } from "../../src/brokers/event-headers.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import {
  createKafkaBroker,
  createKafkaSource,
  type KafkaSource,
  type KafkaSourceOptions,
} from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { tempDir } from "../cli/helpers.js";
import { type FakeKafka, fakeKafka } from "./fake-kafka.js";

export const TOPIC = "audit-events";

/**
 * A fake cluster of `partitions` on TOPIC, a SQLite store file, and a source factory on both; the store
 * and each source made are pushed on `open`, for the test file to close after each test.
 */
export function fakeIngestSetup(open: { close(): unknown }[], partitions: number) {
  const kafka = fakeKafka(TOPIC, partitions);
  const store = openAuditStore({ path: join(tempDir(), "audit.db") });
  open.push(store);
  const source = async (extra: Partial<KafkaSourceOptions> = {}): Promise<KafkaSource> => {
    const s = await createKafkaSource({
      bootstrapBrokers: ["kafka-1:9092"],
      topic: TOPIC,
      groupId: "ingest",
      createConsumer: (o) => kafka.createConsumer(o),
      createProducer: (o) => kafka.createProducer(o),
      ...extra,
    });
    open.push(s);
    return s;
  };
  return { kafka, store, source };
}

/** Publishes `events` to TOPIC through the real Kafka broker and broker sink, as a server does. */
export async function publishToFake(
  kafka: FakeKafka,
  events: readonly AuditEvent[],
  sink: { encoding?: BrokerEncoding; cloudEvents?: boolean } = {},
): Promise<void> {
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    createProducer: (o) => kafka.createProducer(o),
  });
  await createBrokerSink({ broker, topic: TOPIC, ...sink }).write(events);
  await broker.close();
}

/** The event ids the store holds (up to 1000). */
export const storedIds = (store: AuditStore) =>
  new Set(store.query({}, { limit: 1000 }).events.map((e) => e.eventId));

/** The event ids of `events`. */
export const ids = (events: readonly AuditEvent[]) => new Set(events.map((e) => e.eventId));
