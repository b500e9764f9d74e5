// An insert whose connection fails at each step of its transaction (the COPY sent and its data lost,
// the COMMIT's reply lost, a reset as a restarting server gives, the server's own statement_timeout):
// it rejects (after queryTimeoutMs at most), so the pipeline keeps the batch and tries again; the
// pool is not left with a broken connection; once the path is back the batch goes in once, and no
// session the store gave up holds the writers' lock, even one whose close never reached the server.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { type SilentProxy, startSilentProxy } from "../helpers/silent-proxy.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const T0 = Date.parse("2026-03-01T00:00:00Z");
const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    sampleEvent({ eventId: `${prefix}-${i}`, occurredAt: new Date(T0 + i) }),
  );

/** A fresh database, its URL directly and through `proxy`. */
async function database(proxy: SilentProxy): Promise<{ direct: string; viaProxy: string }> {
  const direct = await server.createDatabase();
  return { direct, viaProxy: direct.replace(`127.0.0.1:${server.port}`, `127.0.0.1:${proxy.port}`) };
}

const count = async (url: string) =>
  Number(
    (await withClient(url, (c) => c.query<{ n: string }>("SELECT count(*) n FROM audit_events"))).rows[0]?.n,
  );

/** The sessions of the database at `url` that are not idle (but the one asking), and what each does. */
const sessions = (url: string) =>
  withClient(url, async (c) =>
    (
      await c.query<{ state: string; query: string }>(
        "SELECT state, left(query, 4) query FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()",
      )
    ).rows.map((r) => `${r.state}: ${r.query}`),
  );

describe("an insert whose path goes silent", () => {
  it("during the COPY, its close lost: rejects after queryTimeoutMs; the store then ends the session left holding the writers' lock", async () => {
    const proxy = await startSilentProxy(server.port);
    const { direct, viaProxy } = await database(proxy);
    const store = await openPostgresStore({ connectionString: viaProxy, queryTimeoutMs: 1000 });
    const other = await openPostgresStore({ connectionString: direct, queryTimeoutMs: 10_000 });
    try {
      expect(await store.insert(events("a", 3))).toBe(3);
      const batch = events("b", 3);
      // The COPY statement reaches the server, its data does not: the server waits for it.
      proxy.freezeAfter((chunk) => chunk.includes("COPY audit_events"));
      await expect(store.sink().write(batch)).rejects.toThrow(
        `postgres store ${store.name}: no reply within 1000 ms (queryTimeoutMs)`,
      );
      expect(await sessions(direct)).toStrictEqual(["active: COPY"]);
      // The client gave up resending its FIN before the path came back: the server's session stays.
      proxy.thaw({ loseCloses: true });
      expect(await store.insert(batch)).toBe(3);
      expect(await other.insert(events("c", 3))).toBe(3);
      expect(await count(direct)).toBe(9);
      expect(await sessions(direct)).toStrictEqual([]);
    } finally {
      proxy.thaw();
      await other.close();
      await store.close();
      await proxy.close();
    }
  });

  it("during a read, its close lost: the session given up is left to the server, holding no lock", async () => {
    const proxy = await startSilentProxy(server.port);
    const { direct, viaProxy } = await database(proxy);
    const store = await openPostgresStore({ connectionString: viaProxy, poolSize: 1, queryTimeoutMs: 1000 });
    const pids = () =>
      withClient(direct, async (c) =>
        (
          await c.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid",
          )
        ).rows.map((r) => r.pid),
      );
    try {
      expect(await store.insert(events("a", 3))).toBe(3);
      const [given] = await pids();
      proxy.freeze();
      await expect(store.lastSeq()).rejects.toThrow(
        `postgres store ${store.name}: no reply within 1000 ms (queryTimeoutMs)`,
      );
      proxy.thaw({ loseCloses: true });
      expect(await store.insert(events("b", 3))).toBe(3);
      expect(await pids()).toContain(given);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });

  it("after its COMMIT: rejects after queryTimeoutMs, and the batch tried again is stored once", async () => {
    const proxy = await startSilentProxy(server.port);
    const { direct, viaProxy } = await database(proxy);
    const store = await openPostgresStore({ connectionString: viaProxy, queryTimeoutMs: 1000 });
    try {
      // The month's partition made first (its own transaction): the COMMIT cut below is the batch's.
      expect(await store.insert(events("w", 1))).toBe(1);
      const batch = events("a", 3);
      proxy.freezeAfter((chunk) => chunk.includes("COMMIT"));
      await expect(store.insert(batch)).rejects.toThrow(
        `postgres store ${store.name}: no reply within 1000 ms (queryTimeoutMs)`,
      );
      proxy.thaw();
      expect(await store.insert(batch)).toBe(0); // it had committed: nothing new
      expect(await count(direct)).toBe(4);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });
});

describe("an insert whose connection is reset during the COPY (a server restarting)", () => {
  it("rejects at once, not after queryTimeoutMs, and the batch goes in once on the next try", async () => {
    const proxy = await startSilentProxy(server.port);
    const { direct, viaProxy } = await database(proxy);
    const errors: string[] = [];
    const store = await openPostgresStore({
      connectionString: viaProxy,
      queryTimeoutMs: 600_000, // longer than the test may run: only the reset can end the insert
      onError: (error) => errors.push(error.message),
    });
    try {
      expect(await store.insert(events("a", 3))).toBe(3);
      const batch = events("b", 3);
      proxy.freezeAfter((chunk) => chunk.includes("COPY audit_events"));
      const inserting = store.insert(batch);
      const outcome = inserting.then(
        () => "resolved",
        (error: Error) => error.message,
      );
      while ((await sessions(direct)).join() !== "active: COPY") {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      proxy.reset();
      proxy.thaw();
      expect(await outcome).toBe(`postgres store ${viaProxy}: read ECONNRESET`);
      expect(await store.insert(batch)).toBe(3);
      expect(await count(direct)).toBe(6);
      for (const message of errors) expect(message).toMatch(/^postgres store postgres:\/\/postgres@/);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });
});

describe("a statement_timeout the administrator set on the database", () => {
  it("ends an insert waiting for the writers' lock; the store keeps working", async () => {
    const url = await server.createDatabase();
    const name = url.slice(url.lastIndexOf("/") + 1);
    await withClient(url, (c) => c.query(`ALTER DATABASE ${name} SET statement_timeout = '300ms'`));
    const store = await openPostgresStore({ connectionString: url, poolSize: 1, queryTimeoutMs: 600_000 });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [LOCKS.write]);
      const error = await store.insert(events("a", 3)).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("57014"); // query_canceled
      await holder.query("SELECT pg_advisory_unlock($1)", [LOCKS.write]);
      expect(await store.insert(events("a", 3))).toBe(3);
      expect(await count(url)).toBe(3);
    } finally {
      await holder.end();
      await store.close();
    }
  });
});

describe("a role that may not read pg_stat_get_activity", () => {
  it("inserts and reads as any other (its sessions given up are left to the server)", async () => {
    const url = await server.createDatabase();
    const name = url.slice(url.lastIndexOf("/") + 1);
    await withClient(url, async (c) => {
      await c.query("CREATE ROLE audit_plain LOGIN");
      await c.query(`ALTER DATABASE ${name} OWNER TO audit_plain`);
      await c.query("REVOKE EXECUTE ON FUNCTION pg_stat_get_activity(integer) FROM PUBLIC");
    });
    const store = await openPostgresStore({ connectionString: url.replace("postgres@", "audit_plain@") });
    try {
      expect(await store.insert(events("a", 3))).toBe(3);
      expect(await store.lastSeq()).toBe(3);
    } finally {
      await store.close();
    }
  });
});
