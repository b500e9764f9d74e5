// An insert that resolved survives a crash of the server. Operators set synchronous_commit = off for
// throughput, and then a COMMIT returns before its WAL reaches the disk; the ingester and the delivery
// pipeline acknowledge a batch once its insert resolved, so a crash then would lose acknowledged
// events. The store's write transactions commit synchronously whatever the server's setting.
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

// Durable storage, but asynchronous commits that the WAL writer flushes only every 10 s: a COMMIT's WAL
// stays in shared memory that long unless the COMMIT flushed it. No autovacuum writing WAL meanwhile.
const SETTINGS = { fsync: "on", synchronous_commit: "off", wal_writer_delay: "10000ms", autovacuum: "off" };

const T0 = Date.parse("2026-03-01T00:00:00Z");
const N = 2000;
const events = Array.from({ length: N }, (_, i) =>
  sampleEvent({ eventId: `durable-${i}`, occurredAt: new Date(T0 + i) }),
);

const servers: PostgresServer[] = [];
afterEach(async () => {
  // The restarted server first: the first one's stop deletes the folder they share.
  for (const server of servers.reverse()) await server.stop();
  servers.length = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True while the process runs (a zombie left to a parent that does not reap it has ended). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Kills every process of the server at once (SIGKILL), as a crash does; resolves once none runs. */
async function crash(server: PostgresServer): Promise<void> {
  process.kill(server.pid, "SIGSTOP"); // forks no new process meanwhile
  const children = fs
    .readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8")
    .split(" ")
    .filter((pid) => pid !== "")
    .map(Number);
  for (const pid of [server.pid, ...children]) process.kill(pid, "SIGKILL");
  while (server.running || children.some(running)) await sleep(20);
}

/** Runs `write` against a fresh server, crashes the server as soon as it resolved, restarts it and reads the stored ids. */
async function idsAfterCrash(write: (store: PostgresStore) => Promise<void>): Promise<string[]> {
  const server = await startPostgresServer({ settings: SETTINGS });
  servers.push(server);
  const store = await openPostgresStore({ connectionString: server.url, onError: () => {} });
  await write(store);
  await crash(server);
  await store.close();
  const again = await startPostgresServer({ settings: SETTINGS, dir: server.dir });
  servers.push(again);
  const rows = await withClient(again.url, (c) =>
    c.query<{ event_id: string }>("SELECT event_id FROM audit_events ORDER BY occurred_at_ms"),
  );
  return rows.rows.map((row) => row.event_id);
}

it("a batch inserted by COPY (insert) is all there after a crash right after it resolved", async () => {
  const ids = await idsAfterCrash(async (store) => {
    expect(await store.insert(events)).toBe(N);
  });
  expect(ids).toEqual(events.map((event) => event.eventId));
}, 60_000);

it("a redelivered batch written by the sink (INSERT skipping stored ids) is all there after a crash right after it resolved", async () => {
  const ids = await idsAfterCrash(async (store) => {
    await store.insert(events.slice(0, N / 2));
    await store.sink().writeEncoded?.(events.map((event) => ({ event, bytes: encodeEvent(event) })));
  });
  expect(ids).toEqual(events.map((event) => event.eventId));
}, 60_000);

describe("the synchronous_commit of the store's writes, as a trigger on the events table reads it", () => {
  it.each([
    ["off", "on"],
    ["local", "local"],
    ["remote_apply", "remote_apply"],
  ])("a database set to %s commits inserts and prunes with %s: only off is raised", async (setting, used) => {
    const server = await startPostgresServer();
    servers.push(server);
    await withClient(server.url, (c) =>
      c.query(`ALTER DATABASE postgres SET synchronous_commit = ${setting}`),
    );
    const store = await openPostgresStore({ connectionString: server.url });
    try {
      await withClient(server.url, (c) =>
        c.query(`CREATE TABLE seen (setting text);
          CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN INSERT INTO seen VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$;
          CREATE TRIGGER note AFTER INSERT OR DELETE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION note()`),
      );
      await store.insert(events.slice(0, 10));
      // Halfway through the month of the events: its rows go by DELETE, not a partition's DROP.
      await store.prune({ before: new Date(T0 + 5), cutChains: true });
      const seen = await withClient(server.url, (c) =>
        c.query<{ setting: string }>("SELECT setting FROM seen"),
      );
      expect(seen.rows).toEqual([{ setting: used }, { setting: used }]);
    } finally {
      await store.close();
    }
  });
});
