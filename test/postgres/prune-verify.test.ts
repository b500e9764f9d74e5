// a chain spread over month partitions, pruned by whole months and within a month: verify
// over the shared store finds only the documented `missing` range from seq 1; query pages and stats
// across the month boundary give the SQLite store's answers.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { withoutOrder } from "../../src/cli/commands/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { type AuditPage, openAuditStore } from "../../src/store/audit-store.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const FEB = Date.parse("2026-02-01T00:00:00Z");
/** 20 mutations from 10 minutes before February, one a minute, 2 events per ms tick shared. */
async function trailOverMonths(): Promise<AuditEvent[]> {
  let tick = 0;
  return recordTrail(20, {
    checkpointEvery: 4,
    recorder: { now: () => new Date(FEB - 10 * 60_000 + Math.floor(tick++ / 2) * 60_000) },
  });
}

async function verifyPg(store: Parameters<typeof storeEvents>[0]) {
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(storeEvents(store, tally), {
    publicKeys: PUBLIC_KEYS,
    expectSealed: true,
  });
  return {
    tally,
    findings: withoutOrder(report.chains).flatMap((c) => c.findings.map((f) => [f.kind, f.seq, f.toSeq])),
  };
}

describe("a chain over two months", () => {
  it("pruned by the whole first month: only `missing` from seq 1", async () => {
    const trail = await trailOverMonths();
    const firstFeb = trail.findIndex((e) => (e.occurredAt?.getTime() ?? 0) >= FEB);
    expect(firstFeb).toBeGreaterThan(0);
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      // Out of order, in batches, as two ingesters would.
      await store.insert(trail.slice(12));
      await store.insert(trail.slice(0, 12));
      expect(await verifyPg(store)).toStrictEqual({
        tally: { unreadable: [], skippedLines: 0 },
        findings: [],
      });
      expect(await store.prune({ before: new Date(FEB) })).toBe(firstFeb);
      expect((await verifyPg(store)).findings).toStrictEqual([["missing", 1, firstFeb]]);
      // Within February: row by row.
      const cut = new Date(FEB + 60_000);
      const older = trail.filter((e) => (e.occurredAt?.getTime() ?? 0) < cut.getTime()).length;
      expect(await store.prune({ before: cut })).toBe(older - firstFeb);
      expect(older).toBeLessThan(trail.length);
      expect((await verifyPg(store)).findings).toStrictEqual([["missing", 1, older]]);
    } finally {
      await store.close();
    }
  });

  it("query pages (equal times) and stats per hour across the boundary agree with SQLite", async () => {
    const trail = await trailOverMonths();
    const url = await server.createDatabase();
    const pg = await openPostgresStore({ connectionString: url });
    const sqlite = openAuditStore({ path: join(tempDir(), "months.db") });
    try {
      await pg.insert(trail.slice(7));
      await pg.insert(trail.slice(0, 7));
      sqlite.insert(trail.slice(7));
      sqlite.insert(trail.slice(0, 7));
      const pagesOf = async (query: (cursor?: string) => Promise<AuditPage>) => {
        const ids: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await query(cursor);
          ids.push(page.events.map((e) => e.eventId));
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        return ids;
      };
      const fromPg = await pagesOf((cursor) => pg.query({}, { limit: 3, ...(cursor && { cursor }) }));
      const fromSqlite = await pagesOf(async (cursor) =>
        sqlite.query({}, { limit: 3, ...(cursor && { cursor }) }),
      );
      expect(fromPg).toStrictEqual(fromSqlite);
      expect(fromPg.flat().sort()).toStrictEqual(trail.map((e) => e.eventId).sort());
      expect(await pg.stats({})).toStrictEqual(sqlite.stats({}));
      expect(await pg.stats({ from: new Date(FEB - 60_000), to: new Date(FEB + 60_000) })).toStrictEqual(
        sqlite.stats({ from: new Date(FEB - 60_000), to: new Date(FEB + 60_000) }),
      );
    } finally {
      sqlite.close();
      await pg.close();
    }
  });
});
