// A writer whose network path is cut silently mid-transaction (no TCP reset, its close never reaches
// the server) gives up after its queryTimeoutMs, but the server does not know: without a limit of
// its own, its session stays "idle in transaction" holding the writers' lock until TCP keepalive
// notices, hours later, and every other writer waits on the lock. The store bounds that idle time,
// so another writer, on a healthy path, gets the lock within a bounded time.
import net from "node:net";
import { Duplex } from "node:stream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { LOCKS } from "../../src/postgres/schema.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";

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

/**
 * pg's `stream` option: connections whose end never reaches the server, as on a path cut without a
 * reset (the client's FIN is lost). pg sees its stream closed; the socket under it stays open until
 * `drop()`.
 */
function losingCloses(): { stream: () => Duplex; drop(): void } {
  const sockets = new Set<net.Socket>();
  const stream = () => {
    const socket = new net.Socket();
    sockets.add(socket);
    const duplex = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, done) => socket.write(chunk, done),
      // What pg ends or destroys is this stream alone: the socket is left as it is.
      final: (done) => {
        done();
        duplex.destroy();
      },
    });
    socket.on("connect", () => duplex.emit("connect"));
    socket.on("data", (chunk: Buffer) => duplex.push(chunk));
    socket.on("error", (error) => duplex.destroy(error));
    socket.on("close", () => duplex.destroy());
    return Object.assign(duplex, {
      connect: (port: number, host: string) => socket.connect(port, host),
      setNoDelay: (noDelay: boolean) => socket.setNoDelay(noDelay),
      setKeepAlive: (enable: boolean, delayMs: number) => socket.setKeepAlive(enable, delayMs),
      ref: () => socket.ref(),
      unref: () => socket.unref(),
    });
  };
  return {
    stream,
    drop() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Resolves once `sql` returns a row (polling). No deadline of its own: on a loaded machine any fixed
 * one can pass first; a row that never comes fails at the test's timeout, which then names `sql`.
 */
async function waitForRow<R extends pg.QueryResultRow>(
  client: pg.Client,
  sql: string,
  params: unknown[],
): Promise<R> {
  let waiting = true;
  onTestFailed(() => {
    if (waiting) console.error(`waitForRow: still waiting for a row of ${sql}`);
  });
  try {
    for (;;) {
      const row = (await client.query<R>(sql, params)).rows[0];
      if (row !== undefined) return row;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    waiting = false;
  }
}

describe("a writer cut off silently while it holds the writers' lock", () => {
  it.each([
    { write: "insert", run: (store: PostgresStore) => store.insert(events("a", 3)) },
    // Without a limit on the client: only the server's ends it.
    { write: "prune", run: (store: PostgresStore) => store.prune({ before: new Date(T0) }) },
  ])(
    "holds it at most queryTimeoutMs past its last statement ($write): another writer's insert goes in",
    async ({ write, run }) => {
      const direct = await server.createDatabase();
      const proxy = await startSilentProxy(server.port);
      const closes = losingCloses();
      const viaProxy = direct.replace(`127.0.0.1:${server.port}`, `127.0.0.1:${proxy.port}`);
      const pool = new pg.Pool({ connectionString: viaProxy, stream: closes.stream });
      pool.on("error", () => {}); // an idle connection the test's cleanup ends
      const a = await openPostgresStore({ pool, queryTimeoutMs: 1000 });
      // B's own limit is the bound: without a limit on the server, B waits for the lock until it expires.
      const b = await openPostgresStore({ connectionString: direct, queryTimeoutMs: 10_000 });
      const observer = new pg.Client({ connectionString: direct });
      await observer.connect();
      let writing: Promise<unknown> = Promise.resolve();
      try {
        // A's lock is taken at a known moment: the test holds it, A waits for it, and the path goes
        // silent before the test lets it go, so A's session gets it with nothing more arriving.
        await observer.query("BEGIN");
        await observer.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
        writing = run(a).catch((e: unknown) => e);
        const { pid } = await waitForRow<{ pid: number }>(
          observer,
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
          [],
        );
        proxy.freeze();
        await observer.query("COMMIT");
        await waitForRow(
          observer,
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction'",
          [pid],
        );

        expect(await b.insert(events("b", 3))).toBe(3);
        const left = await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]);
        expect(left.rowCount).toBe(0);
        if (write === "insert") {
          expect(((await writing) as Error).message).toBe(
            `postgres store ${a.name}: no reply within 1000 ms (queryTimeoutMs)`,
          );
        }
      } finally {
        await observer.end();
        await b.close();
        await a.close();
        await proxy.close();
        closes.drop();
        await writing;
        await pool.end();
      }
    },
  );
});
