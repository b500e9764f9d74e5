// Ingesting, from a real `nats-server -js`, two different events under one id that arrive in the
// same fetched batch (a producer whose `newEventId` repeated an id): the second is dead-lettered as
// when the store held the first already, not dropped as a copy in the batch, uncounted. The same
// event twice in one batch is still a duplicate.
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import type { IngestStore } from "../../src/ingest/index.js";
import { DEAD_LETTER_REASON_HEADER } from "../../src/nats/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, ingestOneBatch, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

const REPEATED = "019b7ca9-8f2e-7000-8000-0000000000bb";
const first = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
const other = sampleEvent({ kind: "authz", eventId: REPEATED });
const fresh = sampleEvent({ kind: "authn" });

/** Publishes `events` to a new stream and ingests them into `store` in one batch; resolves to the stats and the dead letters' reasons. */
async function ingest(store: IngestStore, events: readonly AuditEvent[]) {
  const { stream, topic } = await freshStream(suite.nc);
  for (const e of events) await jetstream(suite.nc).publish(topic, encodeEvent(e));
  const { stats, errors } = await ingestOneBatch(suite.nc, stream, store);
  const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
  return { stats, errors, reasons: dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER]) };
}

const taken = `event id "${REPEATED}" is stored with another event (other bytes): not stored`;

describe("two different events under one id in one ingested batch", () => {
  it("SQLite: the second is dead-lettered naming the id, the first stored", async () => {
    const store = openAuditStore({ path: join(tempDir(), "audit.db") });
    try {
      const { stats, errors, reasons } = await ingest(store, [first, other, fresh]);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 3, inserted: 2, duplicates: 0, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (SQLITE_CONSTRAINT_UNIQUE): audit store ${store.path}: ${taken}`,
      ]);
      expect(store.query({ eventId: REPEATED }).events).toStrictEqual([first]);
      expect(store.query({ eventId: fresh.eventId }).events).toStrictEqual([fresh]);
    } finally {
      store.close();
    }
  });

  it("PostgreSQL: the second is dead-lettered naming the id, the first stored", async () => {
    const store = await openPostgresStore({ connectionString: await suite.postgres.createDatabase() });
    try {
      const { stats, errors, reasons } = await ingest(store, [first, other, fresh]);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 3, inserted: 2, duplicates: 0, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (23505): postgres store ${store.name}: ${taken}`,
      ]);
      expect((await store.query({ eventId: REPEATED })).events).toStrictEqual([first]);
      expect((await store.query({ eventId: fresh.eventId })).events).toStrictEqual([fresh]);
    } finally {
      await store.close();
    }
  });

  it("a store that takes decoded events only (no insertColumns): the second is dead-lettered too", async () => {
    const sqlite = openAuditStore({ path: join(tempDir(), "audit.db") });
    try {
      const store: IngestStore = { insert: (events) => sqlite.insert(events) };
      const { stats, errors, reasons } = await ingest(store, [first, other, fresh]);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 3, inserted: 2, duplicates: 0, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (SQLITE_CONSTRAINT_UNIQUE): audit store ${sqlite.path}: ${taken}`,
      ]);
      expect(sqlite.query({ eventId: REPEATED }).events).toStrictEqual([first]);
    } finally {
      sqlite.close();
    }
  });

  it("the same event twice in one batch is a duplicate, into either store", async () => {
    const sqlite = openAuditStore({ path: join(tempDir(), "audit.db") });
    const decoded = openAuditStore({ path: join(tempDir(), "audit.db") });
    const postgres = await openPostgresStore({ connectionString: await suite.postgres.createDatabase() });
    try {
      for (const store of [sqlite, postgres, { insert: decoded.insert.bind(decoded) }]) {
        const { stats, errors, reasons } = await ingest(store, [first, first, fresh]);
        expect(errors).toStrictEqual([]);
        expect(reasons).toStrictEqual([]);
        expect(stats).toMatchObject({ received: 3, inserted: 2, duplicates: 1, deadLettered: 0, errors: 0 });
      }
      expect(sqlite.query({ eventId: REPEATED }).events).toStrictEqual([first]);
      expect(decoded.query({ eventId: REPEATED }).events).toStrictEqual([first]);
      expect((await postgres.query({ eventId: REPEATED })).events).toStrictEqual([first]);
    } finally {
      sqlite.close();
      decoded.close();
      await postgres.close();
    }
  });
});
