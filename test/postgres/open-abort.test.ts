// Opening the store against a PostgreSQL that does not answer waits for connectTimeoutMs; a process
// told to stop meanwhile (SIGTERM) aborts the opening instead: it rejects with the signal's reason
// and closes the connection it was making, so nothing keeps the process alive.
import net from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { until } from "../helpers/fake-sink.js";
import { startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";

/** A listener that accepts connections and never answers: a PostgreSQL hung, or behind a silent path. */
async function startSilentServer(): Promise<{ url: string; accepted: net.Socket[]; close(): Promise<void> }> {
  const accepted: net.Socket[] = [];
  // Reads and drops what comes, so that the client's close is seen.
  const server = net.createServer((socket) => accepted.push(socket.resume()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `postgres://audit:s3cret-pw@127.0.0.1:${port}/audit`,
    accepted,
    close() {
      for (const socket of accepted) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

let silent: Awaited<ReturnType<typeof startSilentServer>>;
afterEach(async () => {
  await silent?.close();
});

describe("openPostgresStore with a signal", () => {
  it("aborted while connecting: rejects with the signal's reason and closes the connection", async () => {
    silent = await startSilentServer();
    const controller = new AbortController();
    // Without the abort, the opening would fail after connectTimeoutMs, with another error: set far
    // past the test's timeout, so that a slow machine cannot reach it first.
    const opening = openPostgresStore({
      connectionString: silent.url,
      connectTimeoutMs: 600_000,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await until(() => silent.accepted.length === 1, { message: () => "the store connects" });
    const connection = silent.accepted[0] as net.Socket;
    const closed = new Promise((resolve) => connection.once("close", resolve));
    controller.abort();
    const error = await opening;
    expect(error).toBe(controller.signal.reason);
    expect((error as Error).name).toBe("AbortError");
    await closed;
  });

  it("with a caller's pool: rejects once the connection is made, leaving the pool open and the database untouched", async () => {
    const server = await startPostgresServer();
    const proxy = await startSilentProxy(server.port, true);
    const direct = await server.createDatabase();
    const pool = new pg.Pool({
      connectionString: direct.replace(`127.0.0.1:${server.port}`, `127.0.0.1:${proxy.port}`),
    });
    pool.on("error", () => {}); // an idle connection server.stop() may end before pool.end() has
    try {
      const controller = new AbortController();
      const opening = openPostgresStore({ pool, signal: controller.signal }).catch((e: unknown) => e);
      await until(() => proxy.accepted === 1, { message: () => "the store connects" });
      controller.abort();
      proxy.thaw();
      expect(await opening).toBe(controller.signal.reason);
      const tables = await withClient(direct, (c) =>
        c.query("SELECT 1 FROM pg_tables WHERE tablename LIKE 'audit%'"),
      );
      expect(tables.rowCount).toBe(0);
      expect((await pool.query<{ n: number }>("SELECT 1 n")).rows).toStrictEqual([{ n: 1 }]);
    } finally {
      await pool.end();
      await proxy.close();
      await server.stop();
    }
  });

  it("already aborted: rejects with the signal's reason without connecting", async () => {
    silent = await startSilentServer();
    const reason = new Error("stopping");
    await expect(
      openPostgresStore({ connectionString: silent.url, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(silent.accepted).toStrictEqual([]);
  });

  it("refuses a signal that is not an AbortSignal", async () => {
    silent = await startSilentServer();
    const opening = openPostgresStore({ connectionString: silent.url, signal: {} as AbortSignal });
    await expect(opening).rejects.toThrow(
      new AuditConfigError("postgres store: `signal` must be an AbortSignal"),
    );
    expect(silent.accepted).toStrictEqual([]);
  });
});
