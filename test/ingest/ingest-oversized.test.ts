// An event from another producer with an indexed field longer than the Recorder writes (a 3000-byte
// actor id): PostgreSQL refuses its index entry (54000, over 2704 bytes) and with it the whole batch,
// for ever. The ingester dead-letters it with the reason and stores the rest of its batch, into a
// real PostgreSQL and a real SQLite store alike, from a real `nats-server -js`. A batch PostgreSQL
// refuses for another row (an index an operator added) goes in halves: the refused event alone is
// dead-lettered.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { encodeEvent, eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester, type IngestStore } from "../../src/ingest/index.js";
import { createNatsSource, DEAD_LETTER_REASON_HEADER } from "../../src/nats/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { withClient } from "../helpers/postgres-server.js";
import { readStream } from "../nats/stream-reader.js";
import {
  freshStream,
  ingestOneBatch,
  publishRecorded,
  publishTrail,
  storedIds,
  until,
  useFleetServers,
} from "./fleet.js";

const suite = useFleetServers();

/** 3000 bytes PostgreSQL cannot compress into its index (as it would "a" × 3000): base64 of hashes. */
const LONG = Array.from({ length: 70 }, (_, i) => createHash("sha256").update(`${i}`).digest("base64"))
  .join("")
  .slice(0, 3000);
const once = (events: readonly AuditEvent[]) => new Map(events.map((e) => [e.eventId, 1]));
const reason = (field: string, bytes: number) =>
  `the event's ${field} has ${bytes} UTF-8 bytes, over the 287 of an indexed field ` +
  "(an event of the Recorder has its text fields cut to fit)";

/** Publishes `event` as another producer would: protobuf, or proto3 JSON with its content type. */
function publishForeign(topic: string, event: AuditEvent, json = false) {
  const h = headers();
  if (json) h.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.json);
  const data = json ? new TextEncoder().encode(JSON.stringify(eventToJson(event))) : encodeEvent(event);
  return jetstream(suite.nc).publish(topic, data, { headers: h });
}

/**
 * Good events, two foreign events with a 3000-byte indexed field (protobuf, JSON), good events, in one
 * batch: ingests them into `store` and expects the good ones stored once, the two dead-lettered.
 */
async function ingestWithPoison(store: IngestStore, stored: () => Promise<Map<string, number>>) {
  const { stream, topic } = await freshStream(suite.nc);
  const before = await publishTrail(suite.nats.url, topic, 5);
  const model = sampleEvent();
  const actor = { ...(model.actor as NonNullable<AuditEvent["actor"]>), id: LONG };
  await publishForeign(topic, { ...model, eventId: "foreign-1", actor });
  const target = { type: "project", id: LONG, name: "" };
  await publishForeign(topic, { ...model, eventId: "foreign-2", target }, true);
  // The Recorder cuts a long id to 256 bytes and its marker: stored.
  const after = await publishRecorded(suite.nats.url, topic, (recorder) => {
    recorder.recordResourceMutation({
      mutation: "update",
      resourceType: "project",
      resourceId: "é".repeat(50_000),
    });
  });
  const good = [...before, ...after];
  const { stats, errors } = await ingestOneBatch(suite.nc, stream, store);
  expect(errors).toStrictEqual([]);
  expect(stats).toMatchObject({ batches: 1, inserted: good.length, deadLettered: 2, errors: 0 });
  expect(await stored()).toStrictEqual(once(good));
  const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
  expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([
    reason("actor.id", 3000),
    reason("target.id", 3000),
  ]);
  // The dead letter names the field and its size, never its text.
  expect(dead.every((m) => !(m.headers[DEAD_LETTER_REASON_HEADER] ?? "").includes(LONG.slice(0, 8)))).toBe(
    true,
  );
}

describe("an event a store cannot index", () => {
  it("an indexed field longer than the Recorder writes, PostgreSQL: dead-lettered, and the rest of its batch stored, not retried for ever", async () => {
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      await ingestWithPoison(store, () => storedIds(url));
    } finally {
      await store.close();
    }
  });

  it("an indexed field longer than the Recorder writes, SQLite: dead-lettered too, as into PostgreSQL", async () => {
    const store = openAuditStore({ path: join(tempDir(), "oversized.db") });
    try {
      await ingestWithPoison(store, async () => {
        const { events } = await store.query({}, { limit: 100 });
        return once(events);
      });
    } finally {
      store.close();
    }
  });

  it("PostgreSQL refusing a row for a reason of its own: the batch goes in halves, that event alone is dead-lettered", async () => {
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    // An index of the operator's own: the 3000-byte service below is over its entry limit.
    await withClient(url, (c) => c.query("CREATE INDEX audit_events_service ON audit_events (service)"));
    const { stream, topic } = await freshStream(suite.nc);
    const before = await publishTrail(suite.nats.url, topic, 20);
    await publishForeign(topic, { ...sampleEvent(), eventId: "foreign-1", service: LONG });
    const after = await publishTrail(suite.nats.url, topic, 20);
    const good = [...before, ...after];
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const errors: string[] = [];
    const ingester = createIngester({
      source,
      store,
      retryDelayMs: 10,
      onError: (e) => errors.push(e.message),
    });
    try {
      await until(
        () => ingester.stats().batches > 0 || ingester.stats().errors > 1,
        "the batch stored, or its insert failing",
      );
      expect(errors).toStrictEqual([]);
      expect(ingester.stats()).toMatchObject({
        batches: 1,
        inserted: good.length,
        deadLettered: 1,
        errors: 0,
      });
      expect(await storedIds(url)).toStrictEqual(once(good));
      const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
      expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([
        expect.stringMatching(
          /^the store refused the event \(54000\): .*index row size \d+ exceeds .*maximum 2704/,
        ),
      ]);
      // It keeps going: the next batch is stored.
      const later = await publishTrail(suite.nats.url, topic, 5);
      await until(() => ingester.stats().inserted === good.length + later.length, "the next batch stored");
      expect(ingester.stats()).toMatchObject({ batches: 2, deadLettered: 1, errors: 0 });
    } finally {
      await ingester.stop();
      await store.close();
    }
  });
});
