// a chain spread over month partitions, pruned up to a checkpoint in the first month and in the
// second: verify over the shared store finds nothing but the pruned prefix (a `missing` range from seq 1
// after a prune with cutChains); query pages and stats
// across the month boundary give the SQLite store's answers.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { withoutOrder } from "../../src/cli/commands/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { type AuditPage, openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The partitions of this test's months, by name (not the current and next, which the store makes when it opens). */
async function partitions(url: string): Promise<string[]> {
  const result = await withClient(url, (c) =>
    c.query<{ name: string }>(
      "SELECT c.relname name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass AND c.relname < 'audit_events_202603' ORDER BY 1",
    ),
  );
  return result.rows.map((r) => r.name);
}

const FEB = Date.parse("2026-02-01T00:00:00Z");
/** 20 mutations and their 5 checkpoints from 5 minutes before February, 2 events a minute. */
async function trailOverMonths(): Promise<AuditEvent[]> {
  let tick = 0;
  return recordTrail(20, {
    checkpointEvery: 4,
    recorder: { now: () => new Date(FEB - 5 * 60_000 + Math.floor(tick++ / 2) * 60_000) },
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
    pruned: report.chains[0]?.pruned,
  };
}

describe("a chain over two months", () => {
  it("pruned by the first month: the chain starts at a kept checkpoint and verifies; --cutChains cuts it", async () => {
    const trail = await trailOverMonths();
    const firstFeb = trail.findIndex((e) => (e.occurredAt?.getTime() ?? 0) >= FEB);
    expect(firstFeb).toBeGreaterThan(0);
    const checkpoints = trail.flatMap((e) => (e.detail?.$case === "checkpoint" ? [e.chain?.seq ?? 0] : []));
    /** The seq prune cuts the chain before: its last checkpoint at or below the first newer seq. */
    const anchorAt = (firstNewerSeq: number) =>
      Math.max(...checkpoints.filter((seq) => seq <= firstNewerSeq));
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      // Out of order, in batches, as two ingesters would.
      await store.insert(trail.slice(12));
      await store.insert(trail.slice(0, 12));
      expect(await verifyPg(store)).toStrictEqual({
        tally: { unreadable: [], skippedLines: 0 },
        findings: [],
        pruned: undefined,
      });
      const anchor = anchorAt(firstFeb + 1);
      expect(anchor).toBeGreaterThan(1);
      expect(anchor).toBeLessThanOrEqual(firstFeb); // January's checkpoint: its month stays
      expect(await store.prune({ before: new Date(FEB) })).toBe(anchor - 1);
      expect(await partitions(url)).toStrictEqual(["audit_events_202601", "audit_events_202602"]);
      expect(await verifyPg(store)).toStrictEqual({
        tally: { unreadable: [], skippedLines: 0 },
        findings: [],
        pruned: { toSeq: anchor - 1, anchorSeq: anchor, keyId: KEY_ID },
      });
      // Within February: up to the checkpoint before the first event from 00:03.
      const cut = new Date(FEB + 3 * 60_000);
      const older = trail.filter((e) => (e.occurredAt?.getTime() ?? 0) < cut.getTime()).length;
      expect(older).toBeLessThan(trail.length);
      const next = anchorAt(older + 1);
      expect(next).toBeGreaterThan(firstFeb); // a February checkpoint: January's month is left empty
      expect(await store.prune({ before: cut })).toBe(next - anchor);
      expect(await partitions(url)).toStrictEqual(["audit_events_202602"]);
      expect((await verifyPg(store)).pruned).toStrictEqual({
        toSeq: next - 1,
        anchorSeq: next,
        keyId: KEY_ID,
      });
      // Every older event, the kept checkpoint included: a `missing` range from seq 1.
      expect(await store.prune({ before: cut, cutChains: true })).toBe(older - (next - 1));
      expect(await verifyPg(store)).toStrictEqual({
        tally: { unreadable: [], skippedLines: 0 },
        findings: [["missing", 1, older]],
        pruned: undefined,
      });
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
