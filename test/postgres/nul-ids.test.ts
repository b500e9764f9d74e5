// an event id holding U+0000 (a Recorder's `newEventId` may return any string). PostgreSQL's
// text cannot hold it: this store refuses such an event now (refused-rows.test.ts), but older versions
// wrote U+FFFD in the event_id column (noNul) and kept the event's bytes as they were. Reading such a
// stored row back must still give the event (as the SQLite store does), and `verify` over the
// untouched shared store must find nothing.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { copyBatch, copyData } from "../../src/postgres/copy.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { batchTimes, columnsOf } from "../../src/postgres/insert.js";
import { ensurePartitions, missingPartitions } from "../../src/postgres/partitions.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Stores `events` as versions that took ids holding U+0000 did: their columns, by one COPY. */
async function storeAsBefore(url: string, events: readonly AuditEvent[]): Promise<void> {
  const batch = columnsOf(events.map((event) => ({ event, bytes: encodeEvent(event) })));
  await withClient(url, async (client) => {
    await client.query("BEGIN");
    await ensurePartitions(client, missingPartitions(batchTimes(batch), new Set()), new Set());
    await copyBatch(client, copyData(batch), 30_000);
    await client.query("COMMIT");
  });
}

let n = 0;
const trailWithNulIds = () =>
  recordTrail(6, { checkpointEvery: 3, recorder: { newEventId: () => `evt\u0000${++n}` } });

describe("event ids holding U+0000", () => {
  it("are read back by query, tail and verify as from the SQLite store", async () => {
    const trail = await trailWithNulIds();
    const url = await server.createDatabase();
    const pgStore = await openPostgresStore({ connectionString: url });
    const sqlite = openAuditStore({ path: join(tempDir(), "nul.db") });
    try {
      await storeAsBefore(url, trail);
      sqlite.insert(trail);

      const fromSqlite = sqlite.query({}, { limit: 100 });
      expect(fromSqlite.events).toHaveLength(trail.length);
      expect(fromSqlite.undecodable).toBeUndefined();

      const page = await pgStore.query({}, { limit: 100 });
      expect(page.undecodable).toBeUndefined();
      expect(page.events.map((e) => e.eventId).sort()).toStrictEqual(trail.map((e) => e.eventId).sort());

      const tally: SourceTally = { unreadable: [], skippedLines: 0 };
      const report = await verifyChains(storeEvents(pgStore, tally), {
        publicKeys: PUBLIC_KEYS,
        expectSealed: true,
      });
      expect(tally.unreadable).toStrictEqual([]);
      expect(report.chains.flatMap((c) => c.findings)).toStrictEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      sqlite.close();
      await pgStore.close();
    }
  });

  it("the one event with that id is found by `eventId`, as in the SQLite store", async () => {
    const trail = await trailWithNulIds();
    const url = await server.createDatabase();
    const pgStore = await openPostgresStore({ connectionString: url });
    const sqlite = openAuditStore({ path: join(tempDir(), "nul2.db") });
    try {
      await storeAsBefore(url, trail);
      sqlite.insert(trail);
      const id = trail[2]?.eventId ?? "";
      expect(sqlite.query({ eventId: id }).events.map((e) => e.eventId)).toStrictEqual([id]);
      expect((await pgStore.query({ eventId: id })).events.map((e) => e.eventId)).toStrictEqual([id]);
    } finally {
      sqlite.close();
      await pgStore.close();
    }
  });
});
