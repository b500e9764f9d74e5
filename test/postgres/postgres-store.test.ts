// What only the PostgreSQL store has (the shared behaviour is in test/store-contract): monthly partitions
// created on demand and dropped whole by prune, writers in several processes sharing one database,
// read-only opening, pools of the caller's, and errors that name the server but never its password.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { SCHEMA_VERSION } from "../../src/postgres/schema.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { recordedEvents, T0 } from "../store-contract/events.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const DAY = 86_400_000;

/** The partitions of audit_events, by name. */
async function partitions(url: string): Promise<string[]> {
  const result = await withClient(url, (c) =>
    c.query<{ name: string }>(
      "SELECT c.relname name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1",
    ),
  );
  return result.rows.map((r) => r.name);
}

/** Resolves once a session of `url` waits for a lock of this kind ("transactionid", "advisory"). */
async function waitFor(url: string, waitEvent: string): Promise<void> {
  for (;;) {
    const waiting = await withClient(url, (c) =>
      c.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = $1", [
        waitEvent,
      ]),
    );
    if (waiting.rowCount !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withStore<T>(url: string, use: (store: PostgresStore) => Promise<T>): Promise<T> {
  const store = await openPostgresStore({ connectionString: url });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

describe("PostgreSQL store", () => {
  it("creates the partition of every month a batch holds, in whatever order its times come", async () => {
    const url = await server.createDatabase();
    await withStore(url, async (store) => {
      // T0 is 2026-11-20: Nov, Dec, Nov, Oct, Dec, Jan, Oct.
      const recorded = recordedEvents(7);
      const events = [0, 20, 5, -40, 25, 50, -30].map(
        (days, i): AuditEvent => ({ ...(recorded[i] as AuditEvent), occurredAt: new Date(T0 + days * DAY) }),
      );
      expect(await store.insert(events)).toBe(7);
      const months = ["202610", "202611", "202612", "202701"].map((m) => `audit_events_${m}`);
      // With the months the store makes ahead (test/postgres/partitions-ahead.test.ts).
      expect(await partitions(url)).toStrictEqual(expect.arrayContaining(months));
    });
  });

  it("creates one partition per UTC month on insert, and prune drops the months entirely older", async () => {
    const url = await server.createDatabase();
    await withStore(url, async (store) => {
      // T0 is 2026-11-20: events every 10 days from 2026-09-11 to 2027-01-09.
      const events = recordedEvents(13, -7, 10 * DAY);
      expect(await store.insert(events)).toBe(13);
      const months = ["202609", "202610", "202611", "202612", "202701"].map((m) => `audit_events_${m}`);
      // With the months the store makes ahead (test/postgres/partitions-ahead.test.ts).
      expect(await partitions(url)).toStrictEqual(expect.arrayContaining(months));
      // Up to 2026-11-05: September and October go whole, November loses its first event (11-01).
      const before = new Date(Date.parse("2026-11-05T00:00:00Z"));
      const older = events.filter((e) => (e.occurredAt?.getTime() ?? 0) < before.getTime()).length;
      expect(await store.prune({ before })).toBe(older);
      const kept = await partitions(url);
      expect(kept).toStrictEqual(expect.arrayContaining(months.slice(2)));
      expect(kept).not.toContain(months[0]);
      expect(kept).not.toContain(months[1]);
      expect((await store.stats()).total).toBe(13 - older);
    });
  });

  it("an insert into a month that another process pruned creates the partition again", async () => {
    const url = await server.createDatabase();
    const [a, b] = [
      await openPostgresStore({ connectionString: url }),
      await openPostgresStore({ connectionString: url }),
    ];
    try {
      await a.insert(recordedEvents(2, 0, DAY)); // a knows November's partition
      expect(await b.prune({ before: new Date(Date.parse("2026-12-01T00:00:00Z")) })).toBe(2);
      expect(await partitions(url)).not.toContain("audit_events_202611");
      expect(await a.insert(recordedEvents(2, 2, DAY))).toBe(2);
      expect((await a.stats()).total).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("writers in separate stores store each event once, and a reader following the tail meanwhile sees each once", async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all(
      [1, 2, 3].map(() => openPostgresStore({ connectionString: url, poolSize: 2 })),
    );
    try {
      const events = recordedEvents(3000, 0, 60_000);
      const batches = Array.from({ length: 30 }, (_, i) => events.slice(i * 100, i * 100 + 100));
      // Every batch goes through every store at once (as redeliveries to several ingesters would),
      // while a reader follows the tail: a row committed after one with a higher seq would be missed.
      const seen: string[] = [];
      let after = 0;
      const follow = async () => {
        const page = await stores[0]?.tail(after, 700);
        seen.push(...(page?.events.map((e) => e.eventId) ?? []));
        after = page?.lastSeq ?? after;
        return page?.events.length ?? 0;
      };
      let writing = true;
      const inserts = Promise.all(
        stores.flatMap((store) => batches.map((batch) => store.insert(batch))),
      ).finally(() => {
        writing = false;
      });
      inserts.catch(() => {}); // awaited below, after the reader's loop
      while (writing) await follow();
      const inserted = await inserts;
      expect(inserted.reduce((sum, n) => sum + n, 0)).toBe(3000);
      while ((await follow()) > 0) {}
      expect(new Set(seen).size).toBe(3000);
      expect(seen).toHaveLength(3000);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("tail never skips a row that commits after a row with a higher position (writers take turns)", async () => {
    const url = await server.createDatabase();
    const [a, b] = [
      await openPostgresStore({ connectionString: url }),
      await openPostgresStore({ connectionString: url }),
    ];
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    try {
      const [e0, e1, e2] = recordedEvents(3) as [AuditEvent, AuditEvent, AuditEvent];
      await a.insert(recordedEvents(1, 9)); // the month's partition exists
      const start = await a.lastSeq();
      // An uncommitted row with e1's key: a's insert takes positions for e0 and e1, then waits on it.
      await blocker.query("BEGIN");
      await blocker.query(
        `INSERT INTO audit_events (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type,
           target_id, success, code, decision, request_id, trace_id, event)
         VALUES ($1, '', $2, '', '', '', '', '', true, '', '', '', '', '')`,
        [e1.eventId, e1.occurredAt?.getTime()],
      );
      const first = a.insert([e0, e1]);
      await waitFor(url, "transactionid");
      // b's insert either commits at a higher position (then a reader would pass a's rows by) or waits its turn.
      const second = b.insert([e2]);
      await Promise.race([second, waitFor(url, "advisory")]);
      const early = await a.tail(start);
      await blocker.query("ROLLBACK");
      expect(await first).toBe(2);
      expect(await second).toBe(1);
      const late = await a.tail(early.lastSeq);
      expect([...early.events, ...late.events].map((e) => e.eventId)).toStrictEqual(
        [e0, e1, e2].map((e) => e.eventId),
      );
    } finally {
      await blocker.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("takes a Recorder's events through the delivery pipeline (its encoded batches), each once", async () => {
    const url = await server.createDatabase();
    await withStore(url, async (store) => {
      const memory = createMemoryEmitter({ capacity: 100 });
      const sink = store.sink();
      let encoded = 0; // events the pipeline handed over as bytes (writeEncoded), not decoded again
      const delivery = createDeliveryEmitter({
        sink: {
          ...sink,
          writeEncoded: async (batch, options) => {
            encoded += batch.length;
            await sink.writeEncoded?.(batch, options);
          },
        },
        maxBatchEvents: 7,
      });
      const recorder = createRecorder({ service: "projects", emitters: [memory, delivery] });
      for (let n = 0; n < 40; n++) {
        recorder.recordResourceMutation({
          operation: "/example.v1.ProjectService/UpdateProject",
          actor: { id: `user-${n % 3}` },
          mutation: "update",
          resourceType: "project",
          resourceId: `p-${n}`,
        });
      }
      await delivery.close();
      expect(delivery.stats()).toMatchObject({ emitted: 40, failed: 0, dropped: {} });
      expect(encoded).toBe(40);
      const stored = await store.query({}, { limit: 100 });
      expect(stored.events.map((e) => e.eventId).sort()).toStrictEqual(
        memory.events.map((e) => e.eventId).sort(),
      );
      expect(stored.events.find((e) => e.target?.id === "p-5")).toStrictEqual(
        memory.events.find((e) => e.target?.id === "p-5"),
      );
    });
  });

  it("replicas opening a new database at once create its schema once", async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore({ connectionString: url })));
    try {
      const versions = await withClient(url, (c) => c.query("SELECT version FROM audit_schema_version"));
      expect(versions.rows).toStrictEqual([{ version: SCHEMA_VERSION }]);
      expect(await stores[3]?.insert(recordedEvents(2))).toBe(2);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("read-only: refuses a database without the schema, reads one with it, and refuses writes", async () => {
    const url = await server.createDatabase();
    const empty = openPostgresStore({ connectionString: url, readonly: true });
    await expect(empty).rejects.toThrow(AuditConfigError);
    await expect(empty).rejects.toThrow(
      /^postgres store postgres:\/\/postgres@127\.0\.0\.1:\d+\/test_\d+: not an audit store \(no schema\)$/,
    );
    await withStore(url, (store) => store.insert(recordedEvents(3)));
    const reader = await openPostgresStore({ connectionString: url, readonly: true });
    try {
      expect((await reader.query()).events).toHaveLength(3);
      await expect(reader.insert(recordedEvents(1, 9))).rejects.toThrow("opened read-only");
      await expect(reader.prune({ before: new Date(T0 + DAY) })).rejects.toThrow("opened read-only");
    } finally {
      await reader.close();
    }
  });

  it("uses a pool of the caller's and leaves it open on close", async () => {
    const url = await server.createDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on("error", () => {}); // an idle connection the server's stop at the end may end before pool.end() has
    try {
      const store = await openPostgresStore({ pool });
      expect(store.name).toBe(url); // its connection string, which has no password here
      expect(await store.insert(recordedEvents(4))).toBe(4);
      await store.close();
      const count = await pool.query<{ n: string }>("SELECT count(*) n FROM audit_events");
      expect(count.rows[0]?.n).toBe("4");
    } finally {
      await pool.end();
    }
  });

  it("rejects bad options with precise errors", async () => {
    const cases: [unknown, string][] = [
      [{}, "give exactly one of `connectionString` or `pool`"],
      [
        { connectionString: server.url, pool: new pg.Pool() },
        "give exactly one of `connectionString` or `pool`",
      ],
      [
        { connectionString: "mysql://u:hunter2@h/db" },
        "`connectionString` must be a postgres:// or postgresql:// URL",
      ],
      [{ connectionString: 42 }, "`connectionString` must be a postgres:// or postgresql:// URL"],
      [{ pool: {} }, "`pool` must be a pg.Pool"],
      [{ connectionString: server.url, poolSize: 0 }, "`poolSize` must be a positive integer"],
      [{ connectionString: server.url, readonly: "yes" }, "`readonly` must be a boolean"],
      [{ connectionString: server.url, onError: 1 }, "`onError` must be a function"],
    ];
    for (const [options, message] of cases) {
      const opening = openPostgresStore(options as never);
      await expect(opening).rejects.toThrow(AuditConfigError);
      await expect(opening).rejects.toThrow(message);
      await expect(opening).rejects.not.toThrow("hunter2");
    }
  });

  it("names the server in connection errors, never the password", async () => {
    const closedPort = `postgres://audit:s3cret-pw@127.0.0.1:1/audit`;
    const error = await openPostgresStore({ connectionString: closedPort }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditConfigError);
    expect(String((error as Error).message)).toMatch(
      /^postgres store postgres:\/\/audit@127\.0\.0\.1:1\/audit: .*ECONNREFUSED/,
    );
    expect(JSON.stringify(error)).not.toContain("s3cret-pw");
    expect(String((error as Error).stack)).not.toContain("s3cret-pw");
    expect((error as Error).cause).toBeUndefined();
    // The server rejects an unknown database: its message, without the password.
    const missing = `postgres://postgres:s3cret-pw@127.0.0.1:${server.port}/nope`;
    const refused = await openPostgresStore({ connectionString: missing }).catch((e: unknown) => e);
    expect(String((refused as Error).message)).toContain('database "nope" does not exist');
    expect(String((refused as Error).message)).not.toContain("s3cret-pw");
  });
});
