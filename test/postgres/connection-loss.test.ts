// A connection the server ends while a batch is written (a restart, an administrator, a
// network cut) must reject that insert promptly — never hang, never throw where nobody listens (an
// unhandled 'error' event ends the process: `grpc-audit ingest` would die instead of retrying) — and
// the batch must go in once when tried again.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
/** Errors nobody handled: each would end a process by default. */
const unhandled: string[] = [];
const onUncaught = (error: Error) => unhandled.push(`uncaught: ${error.message}`);
const onRejection = (error: unknown) => unhandled.push(`unhandled rejection: ${(error as Error).message}`);
beforeAll(async () => {
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onRejection);
  server = await startPostgresServer();
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  process.off("unhandledRejection", onRejection);
  await server?.stop();
});

const T0 = Date.parse("2026-03-01T00:00:00Z");
const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    sampleEvent({ eventId: `${prefix}-${i}`, occurredAt: new Date(T0 + i) }),
  );

/** How `promise` settled, or "pending" after `ms`; its handlers attached at once. */
function settled(promise: Promise<unknown>, ms: number): Promise<string> {
  const outcome = promise.then(
    () => "resolved",
    (error: Error) => `rejected: ${error.message}`,
  );
  return Promise.race([outcome, new Promise<string>((resolve) => setTimeout(() => resolve("pending"), ms))]);
}

const STAGES = {
  // another writer holds the writers' advisory lock: this insert waits in its transaction
  "waiting for the writers' lock": {
    hold: (c: pg.Client) => c.query("SELECT pg_advisory_lock($1)", [LOCKS.write]),
    waiting: "SELECT pg_advisory_xact_lock%",
  },
  // the month's partition is locked: the COPY waits
  "in the COPY": {
    hold: async (c: pg.Client) => {
      await c.query("BEGIN");
      await c.query("LOCK TABLE audit_events_202603 IN ACCESS EXCLUSIVE MODE");
    },
    waiting: "COPY%",
  },
} as const;

describe("the server ends the connection of an insert", () => {
  for (const [stage, { hold, waiting }] of Object.entries(STAGES)) {
    it(`${stage}: the insert rejects, nothing is thrown unhandled, and the batch goes in once again`, async () => {
      unhandled.length = 0;
      const url = await server.createDatabase();
      const errors: string[] = [];
      const store = await openPostgresStore({
        connectionString: url,
        poolSize: 2,
        onError: (error) => errors.push(error.message),
      });
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      try {
        expect(await store.insert(events("a", 3))).toBe(3); // the partition exists, and the store knows it
        await hold(blocker);
        const batch = events("b", 3);
        const outcome = settled(store.insert(batch), 5000);
        let pid: number | undefined;
        for (let i = 0; i < 200 && pid === undefined; i++) {
          const r = await withClient(url, (c) =>
            c.query<{ pid: number }>(
              "SELECT pid FROM pg_stat_activity WHERE wait_event_type IN ('Lock', 'Advisory') AND query LIKE $1",
              [waiting],
            ),
          );
          pid = r.rows[0]?.pid;
          if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(pid).toBeDefined();
        await withClient(url, (c) => c.query("SELECT pg_terminate_backend($1)", [pid]));
        expect(await outcome).toMatch(/^rejected: /);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(unhandled).toStrictEqual([]);
        await blocker.end();
        expect(await store.insert(batch)).toBe(3);
        const count = await withClient(url, (c) =>
          c.query<{ n: string }>("SELECT count(*) n FROM audit_events"),
        );
        expect(Number(count.rows[0]?.n)).toBe(6);
      } finally {
        await blocker.end().catch(() => {});
        await store.close();
      }
    });
  }
});
