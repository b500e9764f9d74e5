// A NATS ingest source on a real nats-server while the event loop is held (a synchronous insert into
// SQLite, a long GC): the client counts the stall as missed heartbeats, which must not fail a fetch
// whose server is alive. The server is 25 ms away, as on another host: on loopback its first
// heartbeat and the client's count race, and the failure shows only on a busy machine.
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngester, type IngestSource, type IngestStore } from "../../src/ingest/index.js";
import { createNatsSource, type NatsSourceMessage } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { tempDir } from "../cli/helpers.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { freshStream, natsConnection, publishTrail, until } from "../ingest/fleet.js";
import { type DistantProxy, startDistantProxy } from "./distant-proxy.js";

let nats: NatsServer;
let nc: NatsConnection;
let distant: DistantProxy;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await natsConnection(nats.url);
  distant = await startDistantProxy(nats.port, 25);
});
afterAll(async () => {
  await nc?.close();
  await distant?.close();
  await nats?.stop();
});

/** A source of `stream`'s consumer "ingest" over its own connection through the 25 ms proxy. */
const distantSource = (stream: string) =>
  createNatsSource({ servers: `nats://127.0.0.1:${distant.port}`, stream, consumer: "ingest" });

/** Holds the event loop for `ms`, as a large synchronous insert does. */
function holdEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: no timer, no socket read runs meanwhile
  }
}

describe("createNatsSource while the event loop is held", () => {
  it("a 1 s fetch opened just before the loop is held for 1.5 s ends empty, not with 'heartbeats missed'", async () => {
    const { stream } = await freshStream(nc);
    const source = await distantSource(stream);
    try {
      const fetching = source.fetch(10, 1000, new AbortController().signal);
      holdEventLoop(1500);
      expect(await fetching).toStrictEqual([]);
    } finally {
      await source.close();
    }
  }, 30_000);

  it("an ingester whose SQLite inserts hold the loop for 1.5 s stores the events and reports no error", async () => {
    const { stream, topic } = await freshStream(nc);
    const events = await publishTrail(nats.url, topic, 5);
    const source = await distantSource(stream);
    let fetchesEnded = 0;
    const counting: IngestSource<NatsSourceMessage> = {
      ...source,
      fetch: (max, wait, signal) => source.fetch(max, wait, signal).finally(() => fetchesEnded++),
    };
    const sqlite = openAuditStore({ path: `${tempDir()}/audit.db` });
    const slow: IngestStore = {
      insert: (batch) => {
        holdEventLoop(1500);
        return sqlite.insert(batch);
      },
    };
    const errors: string[] = [];
    // The ingester opens the next fetch, then inserts the batch it holds: that fetch sees the stall.
    const ingester = createIngester({
      source: counting,
      store: slow,
      batchSize: 100,
      maxWaitMs: 1000,
      onError: (error) => errors.push(error.message),
    });
    try {
      await until(() => fetchesEnded >= 2, "the fetch opened before the insert to end");
    } finally {
      await ingester.stop();
      sqlite.close();
      await source.close();
    }
    expect({ errors, inserted: ingester.stats().inserted }).toStrictEqual({
      errors: [],
      inserted: events.length,
    });
  }, 30_000);
});

describe("createNatsSource while the server is stalled", () => {
  // The client gives a fetch up after two heartbeat intervals (half the fetch's wait each) without a
  // word from the server: a server stopped for a moment (a starved host) looks down to it.
  const localSource = (stream: string) => createNatsSource({ servers: nats.url, stream, consumer: "ingest" });

  it("a fetch whose server stops for 1.3 s, then answers, ends with what it got, not 'heartbeats missed'", async () => {
    const { stream } = await freshStream(nc);
    const source = await localSource(stream);
    try {
      const fetching = source.fetch(10, 1000, new AbortController().signal);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the pull is with the server
      await nats.pause(1300);
      expect(await fetching).toStrictEqual([]);
    } finally {
      await source.close();
    }
  }, 30_000);

  it("a fetch whose server stops for 2.5 s, past the shorter lookup of other failures, ends without an error", async () => {
    const { stream } = await freshStream(nc);
    const source = await localSource(stream);
    try {
      const fetching = source.fetch(10, 1000, new AbortController().signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await nats.pause(2500);
      expect(await fetching).toStrictEqual([]);
    } finally {
      await source.close();
    }
  }, 30_000);

  it("a fetch whose server stays silent past the lookup that follows fails with 'heartbeats missed'", async () => {
    const { stream } = await freshStream(nc);
    const source = await localSource(stream);
    try {
      const fetching = source.fetch(10, 1000, new AbortController().signal);
      fetching.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      await nats.pause(7000); // past the fetch's expiry plus the 5 s the lookup after missed heartbeats waits
      await expect(fetching).rejects.toThrow(
        `nats ${stream}/ingest: fetch failed: heartbeats missed (the server is down, or the path to it cut)`,
      );
    } finally {
      await source.close();
    }
  }, 30_000);
});
