// Ingesting, from a real `nats-server -js`, an event whose id a store holds for another event (a
// producer whose `newEventId` repeated an id): the SQLite store and the PostgreSQL store (same id and
// time) refuse it, so the ingester dead-letters it naming the id, instead of counting it among the
// duplicates while nothing stores it (review R145). The same event again is still a duplicate.
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

const REPEATED = "019b7ca9-8f2e-7000-8000-0000000000aa";
const first = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
const other = sampleEvent({ kind: "authz", eventId: REPEATED });
const fresh = sampleEvent({ kind: "authn" });

/**
 * Publishes the other event under the stored one's id, the stored one again and a new one, and ingests
 * them into `store`, which holds `first`, in one batch; resolves to the stats and the dead letters' reasons.
 */
async function ingest(store: IngestStore & { insert(events: readonly AuditEvent[]): unknown }) {
  await store.insert([first]);
  const { stream, topic } = await freshStream(suite.nc);
  for (const e of [other, first, fresh]) await jetstream(suite.nc).publish(topic, encodeEvent(e));
  const { stats, errors } = await ingestOneBatch(suite.nc, stream, store);
  const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
  return { stats, errors, reasons: dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER]) };
}

const taken = `event id "${REPEATED}" is stored with another event (other bytes): not stored`;

describe("an ingested event under an id the store holds for another event", () => {
  it("SQLite: dead-lettered naming the id, not counted as a duplicate", async () => {
    const store = openAuditStore({ path: join(tempDir(), "audit.db") });
    try {
      const { stats, errors, reasons } = await ingest(store);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 3, inserted: 1, duplicates: 1, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (SQLITE_CONSTRAINT_UNIQUE): audit store ${store.path}: ${taken}`,
      ]);
      expect(
        store
          .query({})
          .events.map((e) => e.eventId)
          .sort(),
      ).toStrictEqual([REPEATED, fresh.eventId].sort());
      expect(store.query({ eventId: REPEATED }).events).toStrictEqual([first]);
    } finally {
      store.close();
    }
  });

  it("PostgreSQL: dead-lettered naming the id, not counted as a duplicate", async () => {
    const store = await openPostgresStore({ connectionString: await suite.postgres.createDatabase() });
    try {
      const { stats, errors, reasons } = await ingest(store);
      expect(errors).toStrictEqual([]);
      expect(stats).toMatchObject({ received: 3, inserted: 1, duplicates: 1, deadLettered: 1, errors: 0 });
      expect(reasons).toStrictEqual([
        `the store refused the event (23505): postgres store ${store.name}: ${taken}`,
      ]);
      expect((await store.query({ eventId: REPEATED })).events).toStrictEqual([first]);
      expect((await store.query({ eventId: fresh.eventId })).events).toStrictEqual([fresh]);
    } finally {
      await store.close();
    }
  });
});
