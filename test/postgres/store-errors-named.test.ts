// Every failure of the PostgreSQL store's inserts and reads names the store (review R47: while the
// server restarted, `grpc-audit ingest` printed pg's bare `connect ECONNREFUSED 127.0.0.1:55447`), never
// the connection string's password, and keeps pg's SQLSTATE `code` and `severity` for those that read them.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isConnectionLost } from "../../src/cli/connection-lost.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const PASSWORD = "s3cret-pw";
/** `url` with a password (trust authentication ignores it). */
const withPassword = (url: string) => url.replace("postgres://postgres@", `postgres://postgres:${PASSWORD}@`);

/** Ends the sessions of `url`'s database waiting for a lock, once there is one. */
async function endLockWaiters(url: string): Promise<void> {
  for (;;) {
    const r = await withClient(url, (c) =>
      c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      ),
    );
    if (r.rowCount !== 0) return;
  }
}

/** Resolves once a session of `url`'s database waits for a lock. */
async function lockWaiter(url: string): Promise<void> {
  for (;;) {
    const r = await withClient(url, (c) =>
      c.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      ),
    );
    if (r.rowCount !== 0) return;
  }
}

/** What `promise` rejected with, as a plain object of what a caller reads; fails if it resolved. */
async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => expect.unreachable("it resolved"),
    (e: unknown) => e as Error & { code?: unknown; severity?: unknown },
  );
  expect(`${error.stack} ${JSON.stringify(error)}`).not.toContain(PASSWORD);
  return {
    message: error.message,
    code: error.code,
    severity: error.severity,
    cause: error.cause instanceof Error ? error.cause.message : error.cause,
  };
}

it("a read ended by the server names the store, with the server's code and severity", async () => {
  const url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: withPassword(url) });
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  try {
    await store.insert([sampleEvent()]);
    await blocker.query("BEGIN; LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE");
    const reading = rejection(store.query());
    await endLockWaiters(url); // the read, waiting for the lock
    const terminated = "terminating connection due to administrator command";
    expect(await reading).toStrictEqual({
      message: `postgres store ${url}: ${terminated}`,
      code: "57P01",
      severity: "FATAL",
      cause: terminated,
    });
  } finally {
    await blocker.end();
    await store.close();
  }
});

it("a read whose connection ends without a word names the store, and is a lost connection still", async () => {
  const url = await server.createDatabase();
  await (await openPostgresStore({ connectionString: url })).close(); // the schema
  const path = await startSilentProxy(server.port);
  const through = url.replace(`:${server.port}/`, `:${path.port}/`);
  const store = await openPostgresStore({ connectionString: withPassword(through), onError: () => {} });
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  try {
    await blocker.query("BEGIN; LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE");
    const failed = store.query().catch((e: unknown) => e);
    await lockWaiter(url);
    path.end();
    const error = await failed;
    // What `grpc-audit tail --db postgres://…` waits out, reading again, rather than ending.
    expect(isConnectionLost(error)).toBe(true);
    expect(await rejection(Promise.reject(error))).toStrictEqual({
      message: `postgres store ${through}: Connection terminated unexpectedly`,
      code: undefined,
      severity: undefined,
      cause: "Connection terminated unexpectedly",
    });
  } finally {
    await blocker.end();
    await store.close();
    await path.close();
  }
});

it("an insert and reads while the server is stopped name the store, never the password", async () => {
  const url = await server.createDatabase();
  const errors: string[] = [];
  const store: PostgresStore = await openPostgresStore({
    connectionString: withPassword(url),
    poolSize: 1,
    onError: (error) => errors.push(error.message),
  });
  try {
    await store.insert([sampleEvent()]);
    await server.stop();
    // The pool's idle connection ended (and reported): each of what follows connects anew, refused.
    while (errors.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const refused = `connect ECONNREFUSED 127.0.0.1:${server.port}`;
    const named = { message: `postgres store ${url}: ${refused}`, code: "ECONNREFUSED", cause: refused };
    const event = sampleEvent({ eventId: "evt-while-down" });
    expect({
      insert: await rejection(store.insert([event])),
      query: await rejection(store.query()),
      tail: await rejection(store.tail(0)),
      lastSeq: await rejection(store.lastSeq()),
      stats: await rejection(store.stats()),
    }).toStrictEqual({
      insert: { ...named, severity: undefined },
      query: { ...named, severity: undefined },
      tail: { ...named, severity: undefined },
      lastSeq: { ...named, severity: undefined },
      stats: { ...named, severity: undefined },
    });
  } finally {
    await store.close();
  }
});
