// Stopping an ingester while PostgreSQL hangs mid-insert (every process of a real server stopped
// with SIGSTOP, as a frozen host or VM looks: connections stay open, nothing answers): the failed
// insert is the last one. The batch fetched ahead goes back to the source (NATS: nak) instead of
// waiting the store's timeouts once more, which would take the stop past a supervisor's grace
// period (Kubernetes: 30 s); once the server goes on, another ingester stores every event once.
// Real nats-server, real PostgreSQL, real NATS source and PostgreSQL store; the test only watches
// the calls between them.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { createIngester, type IngestSource, type IngestStore } from "../../src/ingest/index.js";
import { createNatsSource, type NatsSourceMessage } from "../../src/nats/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import type { PostgresServer } from "../helpers/postgres-server.js";
import { freshStream, publishTrail, storedIds, until, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

/** The server's processes: the postmaster and its children (none forks while it is stopped). */
function serverProcesses(server: PostgresServer): number[] {
  const children = fs
    .readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8")
    .split(" ")
    .filter((pid) => pid !== "")
    .map(Number);
  return [server.pid, ...children];
}

/** Stops every process of the server (SIGSTOP, the postmaster first); returns them, for `thaw`. */
function freeze(server: PostgresServer): number[] {
  process.kill(server.pid, "SIGSTOP");
  const pids = serverProcesses(server);
  for (const pid of pids) process.kill(pid, "SIGSTOP");
  return pids;
}

function thaw(pids: readonly number[]): void {
  for (const pid of [...pids].reverse()) process.kill(pid, "SIGCONT");
}

describe("createIngester stopped while PostgreSQL hangs mid-insert", () => {
  it("inserts nothing more once the insert failed, and hands the batch fetched ahead back to the source", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const events = await publishTrail(suite.nats.url, topic, 30);
    expect(events.length).toBeGreaterThanOrEqual(20); // two full batches of 10
    // Short store timeouts keep the test quick; nothing below depends on how long anything took.
    const store = await openPostgresStore({
      connectionString: url,
      queryTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      onError: () => {},
    });
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const fetched: string[][] = []; // the messages of each fetch, by where they are in the stream
    const handedBack: string[] = [];
    const acked: string[] = [];
    const watched: IngestSource<NatsSourceMessage> = {
      ...source,
      fetch: async (max, wait, signal) => {
        const batch = await source.fetch(max, wait, signal);
        fetched.push(batch.map((m) => m.where));
        return batch;
      },
      retry: (messages) => {
        handedBack.push(...messages.map((m) => m.where));
        return source.retry(messages);
      },
      ack: (messages) => {
        acked.push(...messages.map((m) => m.where));
        return source.ack(messages);
      },
    };
    let inserts = 0;
    let frozen: number[] = [];
    let stopCalled = () => {};
    const stopping = new Promise<void>((resolve) => {
      stopCalled = resolve;
    });
    const hanging: IngestStore = {
      insert: (batch) => {
        inserts++;
        return store.insert(batch);
      },
      insertColumns: async (batch) => {
        inserts++;
        // The server stops as the first insert starts: it hangs mid-insert. Its query goes out once
        // stop() was called: sent before, it could fail (queryTimeoutMs) and, the retry delay over,
        // the batch fetched ahead be inserted before a late stop (a loaded machine: the fetch ahead
        // or the poll below late by 2 s), and the test would wait for ever for the state it stops in.
        if (inserts === 1) {
          frozen = freeze(suite.postgres);
          await stopping;
        }
        return store.insertColumns(batch);
      },
      prepareColumns: (batch) => store.prepareColumns(batch),
    };
    const errors: string[] = [];
    const ingester = createIngester({
      source: watched,
      store: hanging,
      batchSize: 10,
      onError: (error) => errors.push(error.message),
    });
    try {
      await until(
        () => inserts === 1 && fetched.length === 2,
        "the first insert hanging, the next batch fetched",
      );
      const stopped = ingester.stop();
      stopCalled();
      await stopped;
    } finally {
      stopCalled();
      thaw(frozen);
    }
    const [first = [], ahead = []] = fetched;
    expect([first.length, ahead.length, fetched.length]).toStrictEqual([10, 10, 2]);
    // One insert, failed; the batch fetched ahead was not tried: both went back to the source.
    expect(inserts).toBe(1);
    expect(errors).toStrictEqual([
      expect.stringMatching(/^postgres store .*: no reply within 1000 ms \(queryTimeoutMs\)$/),
    ]);
    expect(handedBack).toStrictEqual([...first, ...ahead]);
    expect(acked).toStrictEqual([]);
    expect(ingester.stats()).toStrictEqual({
      received: 20,
      inserted: 0,
      duplicates: 0,
      deadLettered: 0,
      batches: 0,
      errors: 1,
      lag: expect.any(Number),
      lost: 0,
    });

    // Nothing lost: another ingester gets the messages handed back and stores every event once.
    const again = createIngester({ source, store, batchSize: 10, retryDelayMs: 50 });
    await until(
      async () => (await storedIds(url)).size === events.length,
      "every event stored by the next ingester",
    );
    await again.stop();
    expect(await storedIds(url)).toStrictEqual(new Map(events.map((e) => [e.eventId, 1])));
    await source.close();
    await store.close();
  }, 60_000);
});
