// Two prunes of one store at once (a cron job on two hosts) plan from snapshots taken before either
// deletes: both reported the plan's deletions, twice the rows that went. Each reports what it removed.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { recordTrail } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const JAN = Date.parse("2026-01-01T00:00:00Z");

/** 300 events, one a minute from January 1st, a checkpoint every 20; and one December event without a chain. */
async function trail(): Promise<AuditEvent[]> {
  let minute = 0;
  const events = await recordTrail(300, {
    checkpointEvery: 20,
    recorder: { now: () => new Date(JAN + 60_000 * minute++) },
  });
  const { chain: _, ...first } = events[0] as AuditEvent;
  return [...events, { ...first, eventId: "december-1", occurredAt: new Date("2025-12-15T00:00:00Z") }];
}

/** Resolves once `count` sessions of `url`'s database wait for an advisory lock. */
async function waiting(url: string, count: number): Promise<void> {
  for (;;) {
    const found = await withClient(url, (c) =>
      c.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
      ),
    );
    if (found.rowCount === count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const rows = async (url: string) =>
  (await withClient(url, (c) => c.query<{ n: number }>("SELECT count(*)::int n FROM audit_events"))).rows[0]
    ?.n;

describe("two prunes at once", () => {
  for (const cutChains of [false, true]) {
    it(`report together the rows that went${cutChains ? " (cutChains)" : ""}`, async () => {
      const url = await server.createDatabase();
      const [a, b] = await Promise.all([
        openPostgresStore({ connectionString: url }),
        openPostgresStore({ connectionString: url }),
      ]);
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        await a.insert(await trail());
        const before = await rows(url);
        // Both plan while a writer holds the lock, then wait for it: neither saw the other's deletes.
        await holder.query("BEGIN");
        await holder.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
        const options = { before: new Date("2026-01-01T02:00:00Z"), cutChains };
        const prunes = Promise.all([a.pruneReport(options), b.pruneReport(options)]);
        await waiting(url, 2);
        await holder.query("COMMIT");
        const [first, second] = await prunes;
        const went = (before ?? 0) - ((await rows(url)) ?? 0);
        expect(went).toBeGreaterThan(100);
        expect([first.deleted + second.deleted, Math.min(first.deleted, second.deleted)]).toStrictEqual([
          went,
          0,
        ]);
      } finally {
        await holder.end();
        await Promise.all([a.close(), b.close()]);
      }
    });
  }
});
