// Events the PostgreSQL store can never take, among good ones, from a real `nats-server -js` into a
// real PostgreSQL: one stamped 1970-01-01 (a server whose clock was reset) given to a writer role with
// only the GRANTs docs/postgres.md recommends, which may not create that month's partition; and
// another producer's event whose id holds U+0000 (refused before the store, as the SQLite store could
// not keep it apart from U+FFFD either). Each is dead-lettered with a reason naming what was refused, the rest of its batch is stored, and ingestion goes on instead of retrying the batch
// for ever.
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { DEAD_LETTER_REASON_HEADER } from "../../src/nats/index.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { writerRoleUrl } from "../helpers/postgres-server.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, ingestOneBatch, storedIds, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

const DECEMBER = Date.parse("2026-12-05T10:00:00Z");
const event = (id: string, ms: number) => sampleEvent({ eventId: id, occurredAt: new Date(ms) });
const goodEvents = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => event(`${prefix}-${i}`, DECEMBER + i));

/**
 * Publishes `events` (protobuf, as the broker emitter does) and ingests them into `store` in one
 * batch; resolves to the ingester's stats, the errors it reported and the dead letters' reasons.
 */
async function ingest(store: PostgresStore, events: readonly AuditEvent[]) {
  const { stream, topic } = await freshStream(suite.nc);
  for (const e of events) await jetstream(suite.nc).publish(topic, encodeEvent(e));
  const { stats, errors } = await ingestOneBatch(suite.nc, stream, store);
  const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
  return { stats, errors, reasons: dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER]) };
}

describe("events the PostgreSQL store refuses, ingested", () => {
  it("a writer role and an event of a month without a partition: dead-lettered naming the partition, the rest stored", async () => {
    const url = await suite.postgres.createDatabase();
    const owner = await openPostgresStore({ connectionString: url });
    await owner.insert([event("owner-0", DECEMBER)]);
    await owner.close();
    const writer = await openPostgresStore({ connectionString: await writerRoleUrl(url, "audit_writer") });
    try {
      const good = [...goodEvents("a", 50), ...goodEvents("b", 50)];
      const { stats, errors, reasons } = await ingest(writer, [
        ...good.slice(0, 50),
        event("epoch", 0),
        ...good.slice(50),
      ]);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 101, batches: 1, inserted: 100, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (42501): postgres store ${writer.name}: partition audit_events_197001 not created: permission denied for schema public (a role that may not create partitions writes only into months made for it)`,
      ]);
      const stored = await storedIds(url);
      expect([...stored.keys()].sort()).toStrictEqual(["owner-0", ...good.map((e) => e.eventId)].sort());
    } finally {
      await writer.close();
    }
  });

  it("an event id holding U+0000: dead-lettered, and an id with U+FFFD in its place stored", async () => {
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      const good = [...goodEvents("a", 10), event("evt\uFFFDx", DECEMBER)];
      const { stats, errors, reasons } = await ingest(store, [event("evt\u0000x", DECEMBER), ...good]);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 12, batches: 1, inserted: 11, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        "the event's eventId holds U+0000, which no store keeps apart from U+FFFD",
      ]);
      const stored = await storedIds(url);
      expect([...stored.keys()].sort()).toStrictEqual(good.map((e) => e.eventId).sort());
    } finally {
      await store.close();
    }
  });
});
