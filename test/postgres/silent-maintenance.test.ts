// The store's long operations — the schema's migration at open and prune — have no time limit (on a
// big store they rightly take minutes), but a path that goes silent under them (no TCP reset: the
// proxy holds every byte) must not hold them for ever: every queryTimeoutMs the store checks on
// another connection that the operation's server session is still there, and gives up, naming the
// operation and never the password, when the server does not answer. A live operation that waits
// (for the writers' lock, longer than a role's statement_timeout and many checks) goes on.
import net from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { KEEPALIVE_IDLE_MS } from "../../src/postgres/connection.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { type SilentProxy, startSilentProxy } from "../helpers/silent-proxy.js";
import { recordedEvents } from "../store-contract/events.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The stores' queryTimeoutMs and connectTimeoutMs, and the role's statement_timeout: bounds that every
 * live statement, check and connection must keep, and after which a silent path is given up. At 200 and
 * 300 ms a loaded machine's live PostgreSQL overran them ("no reply within 200 ms (queryTimeoutMs)" at
 * open, a prune "gave up" on a check that was merely slow, a live connection not made in time): a bound on
 * load, which each give-up here waits out once.
 */
const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
const STATEMENT_TIMEOUT = "1s";
/** Past the role's statement_timeout, and three of the store's checks. */
const LONG_WAIT_MS = 3 * QUERY_TIMEOUT_MS + 500;

/** 90 recorded events (one chain, no checkpoint), a day apart from 2026-11-20: 42 before `BEFORE`. */
const RECORDED = recordedEvents(90, 0, 86_400_000);
const BEFORE = new Date("2027-01-01T00:00:00Z");
const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => sampleEvent({ eventId: `${prefix}-${i}` }));

/** A fresh database reached through `proxy`, its URL with a password (trust authentication ignores it), and its name in errors. */
async function throughProxy(proxy: SilentProxy): Promise<{ direct: string; url: string; name: string }> {
  const direct = await server.createDatabase();
  const path = direct.replace(`postgres://postgres@127.0.0.1:${server.port}`, `127.0.0.1:${proxy.port}`);
  return { direct, url: `postgres://postgres:s3cret-pw@${path}`, name: `postgres://postgres@${path}` };
}

/** Whether a chunk a client sends holds `text` (a statement's SQL, in its Query or Parse message). */
const holds = (text: string) => (chunk: Buffer) => chunk.includes(text);

/** Resolves once some session waits for an advisory lock. */
async function waitingForLock(direct: string): Promise<void> {
  for (;;) {
    const found = await withClient(direct, (c) =>
      c.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
    );
    if (found.rowCount !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("prune over a path that goes silent", () => {
  const cases = [
    { phase: "while it plans", statement: "ORDER BY seq LIMIT 5000", cutChains: false, dryRun: false },
    { phase: "while it deletes", statement: "DROP TABLE", cutChains: false, dryRun: false },
    { phase: "with cutChains", statement: "SELECT count(*) n FROM", cutChains: true, dryRun: false },
    { phase: "counting a dry run with cutChains", statement: "count(*)", cutChains: true, dryRun: true },
  ];
  for (const { phase, statement, cutChains, dryRun } of cases) {
    it(`gives up ${phase} when the server does not answer a check, then prunes once the path is back`, async () => {
      const proxy = await startSilentProxy(server.port);
      const { direct, url, name } = await throughProxy(proxy);
      const store = await openPostgresStore({ connectionString: url, queryTimeoutMs: QUERY_TIMEOUT_MS });
      try {
        await store.insert(RECORDED);
        // Two idle connections: the prune takes one, the check the other (so it waits for a reply).
        await Promise.all([store.lastSeq(), store.lastSeq()]);
        proxy.freezeAfter(holds(statement));
        const error = await store.prune({ before: BEFORE, cutChains, dryRun }).catch((e: unknown) => e);
        expect((error as Error).message).toBe(
          `postgres store ${name}: prune gave up: the server did not answer a check within ${QUERY_TIMEOUT_MS} ms (queryTimeoutMs)`,
        );
        expect(String((error as Error).stack)).not.toContain("s3cret-pw");
        proxy.thaw();
        expect(await store.prune({ before: BEFORE, cutChains, dryRun })).toBe(42);
        expect(await store.insert(events("b", 1))).toBe(1); // the writers' lock was given back
        const left = await withClient(direct, (c) =>
          c.query<{ n: string }>("SELECT count(*) n FROM audit_events"),
        );
        expect(Number(left.rows[0]?.n)).toBe(dryRun ? 91 : 49);
      } finally {
        proxy.thaw();
        await store.close();
        await proxy.close();
      }
    });
  }
});

describe("openPostgresStore over a path that goes silent", () => {
  it("gives up the schema's migration when the server does not answer a check", async () => {
    const proxy = await startSilentProxy(server.port);
    try {
      const { url, name } = await throughProxy(proxy);
      proxy.freezeAfter(holds("CREATE TABLE audit_events"));
      const opening = openPostgresStore({
        connectionString: url,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        queryTimeoutMs: QUERY_TIMEOUT_MS,
      });
      const error = await opening.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditConfigError);
      expect((error as Error).message).toBe(
        `postgres store ${name}: schema migration gave up: no connection for a check within ${CONNECT_TIMEOUT_MS} ms (connectTimeoutMs)`,
      );
      expect(String((error as Error).stack)).not.toContain("s3cret-pw");
      proxy.thaw();
      const store = await openPostgresStore({ connectionString: url, queryTimeoutMs: QUERY_TIMEOUT_MS });
      expect(await store.insert(events("a", 2))).toBe(2);
      await store.close();
    } finally {
      proxy.thaw();
      await proxy.close();
    }
  });

  it("rejects a read-only opening after queryTimeoutMs", async () => {
    const proxy = await startSilentProxy(server.port);
    try {
      const { direct, url, name } = await throughProxy(proxy);
      await (await openPostgresStore({ connectionString: direct })).close();
      proxy.freezeAfter(holds("to_regclass"));
      const opening = openPostgresStore({
        connectionString: url,
        readonly: true,
        queryTimeoutMs: QUERY_TIMEOUT_MS,
      });
      await expect(opening).rejects.toThrow(
        new AuditConfigError(
          `postgres store ${name}: no reply within ${QUERY_TIMEOUT_MS} ms (queryTimeoutMs)`,
        ),
      );
    } finally {
      proxy.thaw();
      await proxy.close();
    }
  });
});

describe("a role's statement_timeout", () => {
  it("does not fail a prune that waits for the writers' lock longer, across many checks", async () => {
    const direct = await server.createDatabase();
    // Before the store connects: a session takes the setting when it starts.
    const database = new URL(direct).pathname.slice(1);
    await withClient(direct, (c) =>
      c.query(`ALTER DATABASE "${database}" SET statement_timeout = '${STATEMENT_TIMEOUT}'`),
    );
    const store = await openPostgresStore({ connectionString: direct, queryTimeoutMs: QUERY_TIMEOUT_MS });
    const holder = new pg.Client({ connectionString: direct });
    await holder.connect();
    try {
      await store.insert(RECORDED);
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
      const pruning = store.prune({ before: BEFORE });
      pruning.catch(() => {}); // awaited below: a rejection before then is no unhandled one
      await waitingForLock(direct);
      await new Promise((resolve) => setTimeout(resolve, LONG_WAIT_MS));
      await holder.query("COMMIT");
      expect(await pruning).toBe(42);
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it("does not fail a migration that waits for another's longer", async () => {
    const direct = await server.createDatabase();
    const database = new URL(direct).pathname.slice(1);
    await withClient(direct, (c) =>
      c.query(`ALTER DATABASE "${database}" SET statement_timeout = '${STATEMENT_TIMEOUT}'`),
    );
    const holder = new pg.Client({ connectionString: direct });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.migrate]);
      const opening = openPostgresStore({ connectionString: direct, queryTimeoutMs: QUERY_TIMEOUT_MS });
      opening.catch(() => {}); // awaited below: a rejection before then is no unhandled one
      await waitingForLock(direct);
      await new Promise((resolve) => setTimeout(resolve, LONG_WAIT_MS));
      await holder.query("COMMIT");
      const store = await opening;
      expect(await store.insert(events("a", 2))).toBe(2);
      await store.close();
    } finally {
      await holder.end();
    }
  });
});

// What this shows: the pool the store makes asks for TCP keepalive on the very sockets its stream
// factory makes (pg applies it once connected). What it cannot show over loopback: that the OS then
// finds a silent path dead, which takes a path that drops packets.
describe("the pool the store makes", () => {
  it("turns TCP keepalive on for each of its sockets", async () => {
    const setKeepAlive = vi.spyOn(net.Socket.prototype, "setKeepAlive");
    const store = await openPostgresStore({ connectionString: server.url });
    try {
      await Promise.all([store.lastSeq(), store.lastSeq()]);
      expect(setKeepAlive.mock.calls).toStrictEqual([
        [true, KEEPALIVE_IDLE_MS],
        [true, KEEPALIVE_IDLE_MS],
      ]);
      expect(setKeepAlive.mock.contexts.every((socket) => socket instanceof net.Socket)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
