// A batch whose month has no partition yet creates it, and that must never stop the other writers. A
// transaction that read the events table (a prune's plan, a slow query, pg_dump) holds a lock that
// `CREATE TABLE … PARTITION OF` waits for; a writer waiting so while holding the writers' lock would
// make every other writer fail after its queryTimeoutMs, and every new reader queue behind it. The
// partition is made outside the writers' lock and attached without waiting for readers; a wait for a
// lock that does conflict ends in a failed (retried) batch, not a stalled store.
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const MARCH = Date.parse("2026-03-01T00:00:00Z");
const NEW_MONTH = Date.parse("2041-07-07T00:00:00Z");
const event = (id: string, ms: number) => sampleEvent({ eventId: id, occurredAt: new Date(ms) });

/** Until `pending` settles or some session waits for a lock on the events table. */
async function untilSettledOrWaiting(url: string, pending: Promise<unknown>): Promise<void> {
  let settled = false;
  void pending.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  const watcher = new pg.Client(url);
  await watcher.connect();
  try {
    for (;;) {
      const waiting = await watcher.query(
        "SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'audit_events'::regclass",
      );
      if (settled || waiting.rowCount !== 0) return;
      await sleep(20);
    }
  } finally {
    await watcher.end();
  }
}

/** Two stores on one new database, with March's partition made, and a client holding `hold` open. */
async function setUp(
  hold: string[],
): Promise<{ url: string; a: PostgresStore; b: PostgresStore; holder: pg.Client }> {
  const url = await server.createDatabase();
  const a = await openPostgresStore({ connectionString: url, queryTimeoutMs: 10_000 });
  const b = await openPostgresStore({ connectionString: url, queryTimeoutMs: 10_000 });
  expect(await b.insert([event("b-0", MARCH)])).toBe(1);
  const holder = new pg.Client(url);
  await holder.connect();
  for (const sql of hold) await holder.query(sql);
  return { url, a, b, holder };
}

describe("a new month's partition", () => {
  it("is made while a transaction reads the table, and writers and readers go on meanwhile", async () => {
    const { url, a, b, holder } = await setUp([
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
      "SELECT count(*) FROM audit_events",
    ]);
    try {
      const newMonth = a.insert([event("a-0", NEW_MONTH)]);
      await untilSettledOrWaiting(url, newMonth);
      expect(await b.insert([event("b-1", MARCH + 1)])).toBe(1);
      expect((await b.query({})).events.map((e) => e.eventId)).toContain("b-1");
      expect(await newMonth).toBe(1);
      expect((await b.query({})).events.map((e) => e.eventId).sort()).toStrictEqual(["a-0", "b-0", "b-1"]);
    } finally {
      await holder.end();
      await a.close();
      await b.close();
    }
  });

  it("fails its batch, retried, while a conflicting lock is held: writers into existing months go on", async () => {
    const { url, a, b, holder } = await setUp([
      "BEGIN",
      "LOCK TABLE audit_events IN SHARE UPDATE EXCLUSIVE MODE",
    ]);
    try {
      const newMonth = a.insert([event("a-0", NEW_MONTH)]).then(
        (n) => n,
        (error: Error) => error,
      );
      await untilSettledOrWaiting(url, newMonth);
      expect(await b.insert([event("b-1", MARCH + 1)])).toBe(1);
      const failed = await newMonth;
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toMatch(
        /^postgres store .*: partition audit_events_204107 not created: the events table stayed locked by another transaction/,
      );
      await holder.query("COMMIT");
      // The batch again (the pipeline's retry), once the lock is given back.
      expect(await a.insert([event("a-0", NEW_MONTH)])).toBe(1);
      expect(await b.insert([event("b-2", MARCH + 2)])).toBe(1);
    } finally {
      await holder.end();
      await a.close();
      await b.close();
    }
  });
});
