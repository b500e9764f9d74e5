// PostgreSQL behind a path that goes silent (no TCP reset: the proxy holds every byte): opening the
// store, waiting for a connection of the pool, and each read and insert give up after their timeout
// with an error naming the store, never its password, instead of waiting for ever; once the path is
// back, the store works again and a batch that failed goes in once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
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

/** A fresh database reached through `proxy`, its URL with a password (trust authentication ignores it), and its name in errors. */
async function throughProxy(proxy: SilentProxy): Promise<{ direct: string; url: string; name: string }> {
  const direct = await server.createDatabase();
  const path = direct.replace(`postgres://postgres@127.0.0.1:${server.port}`, `127.0.0.1:${proxy.port}`);
  return { direct, url: `postgres://postgres:s3cret-pw@${path}`, name: `postgres://postgres@${path}` };
}

/**
 * The stores' connectTimeoutMs and queryTimeoutMs where a live connection or statement must keep them
 * too: at 200 and 300 ms a loaded machine's live PostgreSQL overran them (the insert before the freeze
 * or after the thaw "no reply within 300 ms"). A bound on load, which each give-up here waits out once.
 */
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 1000;

describe("openPostgresStore over a silent path", () => {
  it("rejects after connectTimeoutMs, naming the store and not the password", async () => {
    const proxy = await startSilentProxy(server.port, true);
    try {
      const { url, name } = await throughProxy(proxy);
      const error = await openPostgresStore({ connectionString: url, connectTimeoutMs: 200 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AuditConfigError);
      expect((error as Error).message).toBe(
        `postgres store ${name}: no connection within 200 ms (connectTimeoutMs)`,
      );
      expect(String((error as Error).stack)).not.toContain("s3cret-pw");
    } finally {
      await proxy.close();
    }
  });

  it("refuses a connectTimeoutMs or queryTimeoutMs that is not a positive whole number of ms", async () => {
    for (const option of ["connectTimeoutMs", "queryTimeoutMs"]) {
      for (const value of [0, -1, 1.5, "1000", 2 ** 31]) {
        const opening = openPostgresStore({ connectionString: server.url, [option]: value });
        await expect(opening).rejects.toThrow(
          new AuditConfigError(
            `postgres store: \`${option}\` must be an integer of ms from 1 to 2147483647 (what a timer holds), got ${JSON.stringify(value)}`,
          ),
        );
      }
    }
  });
});

describe("a store whose path goes silent after it opened", () => {
  it("rejects each read and insert after queryTimeoutMs, then works again once the path is back", async () => {
    const proxy = await startSilentProxy(server.port);
    const { direct, url, name } = await throughProxy(proxy);
    const store = await openPostgresStore({
      connectionString: url,
      poolSize: 8,
      connectTimeoutMs: 30_000,
      queryTimeoutMs: QUERY_TIMEOUT_MS,
    });
    try {
      expect(await store.insert(events("a", 3))).toBe(3);
      // Five connections open and idle: each operation below takes one instead of connecting.
      await Promise.all(Array.from({ length: 5 }, () => store.lastSeq()));
      proxy.freeze();
      const outcomes = await Promise.allSettled([
        store.insert(events("b", 3)),
        store.query({}),
        store.tail(0),
        store.lastSeq(),
        store.stats({}),
      ]);
      const expired = `postgres store ${name}: no reply within ${QUERY_TIMEOUT_MS} ms (queryTimeoutMs)`;
      expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as Error).message : o))).toStrictEqual(
        Array(5).fill(expired),
      );
      proxy.thaw();
      expect(await store.insert(events("b", 3))).toBe(3);
      expect(await store.lastSeq()).toBe(6);
      const count = await withClient(direct, (c) =>
        c.query<{ n: string }>("SELECT count(*) n FROM audit_events"),
      );
      expect(Number(count.rows[0]?.n)).toBe(6);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });

  it("waits at most connectTimeoutMs for a connection of a full pool", async () => {
    const proxy = await startSilentProxy(server.port);
    const { url, name } = await throughProxy(proxy);
    const store = await openPostgresStore({
      connectionString: url,
      poolSize: 1,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      queryTimeoutMs: 60_000,
    });
    try {
      proxy.freeze();
      const holding = store.lastSeq(); // takes the pool's one connection, and waits for the reply
      await expect(store.query({})).rejects.toThrow(
        `postgres store ${name}: no connection within ${CONNECT_TIMEOUT_MS} ms (connectTimeoutMs)`,
      );
      proxy.thaw();
      expect(await holding).toBe(0);
    } finally {
      proxy.thaw();
      await store.close();
      await proxy.close();
    }
  });
});
