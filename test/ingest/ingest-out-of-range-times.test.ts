// An event whose `occurredAt` a Date holds but a protobuf Timestamp does not (before 0001-01-01 or after
// 9999-12-31, which the Recorder refuses) is poison: stored, `query --json` printed it as
// "+020000-01-01T00:00:00.000Z", no RFC 3339 time, and `stats` cut its hour label (review R134). So is
// a record summary counting `since` such a time. The ingester dead-letters both, naming the field and
// the time, as protobuf and as proto3 JSON, into a store that takes columns and one that takes events,
// from a real `nats-server -js` into a real SQLite store; the ends of the range are stored.
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { encodeEvent, eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import type { IngestStore } from "../../src/ingest/index.js";
import { DEAD_LETTER_REASON_HEADER } from "../../src/nats/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, ingestOneBatch, natsConnection, publishTrail } from "./fleet.js";

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await natsConnection(nats.url);
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const at = (id: string, time: string): AuditEvent => ({
  ...sampleEvent({ kind: "resourceMutation" }),
  eventId: id,
  occurredAt: new Date(time),
});
/** The first and last times a Timestamp holds: stored. */
const ends = [at("first", "0001-01-01T00:00:00.000Z"), at("last", "9999-12-31T23:59:59.999Z")];
/** A record summary counting since `time`. */
function summarySince(id: string, time: string): AuditEvent {
  const summary = sampleEvent({ kind: "recordSummary" });
  if (summary.detail?.$case !== "recordSummary") throw new Error("sampleEvent gave no record summary");
  const value = { ...summary.detail.value, since: new Date(time) };
  return { ...summary, eventId: id, detail: { $case: "recordSummary", value } };
}
/** A year after and a year before the range (the review's times), and a summary since 20000: dead-lettered. */
const outside = [
  at("year-20000", "+020000-01-01T00:00:00.000Z"),
  at("year-minus-1199", "-001199-01-01T00:00:00.000Z"),
  summarySince("summary-since-20000", "+020000-01-01T00:00:00.000Z"),
];

const reason = (field: string, time: string) =>
  `the event's ${field} ${time} is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, the range of a protobuf Timestamp`;
const reasons = [
  reason("occurredAt", "+020000-01-01T00:00:00.000Z"),
  reason("occurredAt", "-001199-01-01T00:00:00.000Z"),
  reason("recordSummary.since", "+020000-01-01T00:00:00.000Z"),
];

/** Publishes the ends and the times outside, as protobuf and then as proto3 JSON text. */
async function publishTimes(topic: string): Promise<void> {
  const js = jetstream(nc);
  for (const event of [...ends, ...outside]) await js.publish(topic, encodeEvent(event));
  const json = headers();
  json.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.json);
  for (const event of outside) {
    const text = JSON.stringify({ ...eventToJson(event), eventId: `${event.eventId}-json` });
    await js.publish(topic, new TextEncoder().encode(text), { headers: json });
  }
}

describe.each([
  ["a store that takes columns (SQLite's insertColumns)", (store: AuditStore): IngestStore => store],
  [
    "a store that takes events (insert only)",
    (store: AuditStore): IngestStore => ({ insert: (events) => store.insert(events) }),
  ],
])("ingesting events dated outside 0001-9999 into %s", (_label, ingestStore) => {
  it("dead-letters them with a reason naming the time, and stores the rest", async () => {
    const { stream, topic } = await freshStream(nc);
    const good = await publishTrail(nats.url, topic, 3);
    await publishTimes(topic);
    const store = openAuditStore({ path: join(tempDir(), "out-of-range.db") });
    try {
      const { stats, errors } = await ingestOneBatch(nc, stream, ingestStore(store));
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ inserted: good.length + 2, deadLettered: 6, errors: 0 });
      const dead = await readStream(nc, `${stream}_DEAD_LETTER`);
      expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([...reasons, ...reasons]);
      // What is stored reads back whole, the ends of the range included.
      expect(store.query({}, { limit: 100 })).toStrictEqual({
        events: [ends[1], ...[...good].reverse(), ends[0]],
        nextCursor: undefined,
      });
    } finally {
      store.close();
    }
  });
});
