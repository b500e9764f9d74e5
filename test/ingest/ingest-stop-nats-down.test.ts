// Stopping ingestion while NATS is down ends at once, not once the client is back (review R47: a
// SIGTERM of `grpc-audit ingest` then took 4–9 s). With the server restarted as the stop begins, what
// the stop waited on before (a consumer info or lookup request, a drain) waited for the client's
// reconnect: each test asserts that the stop finished first.
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createIngester } from "../../src/ingest/index.js";
import { createNatsSource } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { tempDir } from "../cli/helpers.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { freshStream, natsConnection } from "./fleet.js";

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

/** A fresh stream, made over a connection of its own. */
async function stream(): Promise<string> {
  const nc = await natsConnection(nats.url);
  try {
    return (await freshStream(nc)).stream;
  } finally {
    await nc.close();
  }
}

/** Pushes `reconnect` to `order` when `nc` reconnects; resolves once it has disconnected. */
function watch(nc: NatsConnection, order: string[]): Promise<void> {
  return new Promise((disconnected) => {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect") disconnected();
        if (status.type === "reconnect") order.push("reconnect");
      }
    })();
  });
}

/** Calls `seen` when `nc` is first asked for `subject…` (a request) or subscribes to `subject…`. */
function spy(nc: NatsConnection, method: "request" | "subscribe", subject: string, seen: () => void) {
  const original = nc[method].bind(nc) as (...args: unknown[]) => unknown;
  Object.assign(nc, {
    [method]: (...args: unknown[]) => {
      if (String(args[0]).startsWith(subject)) seen();
      return original(...args);
    },
  });
}

/** Resolves once the client reconnected (`order` holds "reconnect"). */
async function reconnected(order: string[]): Promise<void> {
  while (!order.includes("reconnect")) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** NATS up again for the next test, whatever this one did. */
async function up(back: Promise<void> | undefined): Promise<void> {
  await back?.catch(() => {});
  if (!nats.running) await nats.restart();
}

it("a fetch stopped while NATS is down ends at once, before the client reconnects", async () => {
  const nc = await natsConnection(nats.url);
  const order: string[] = [];
  let back: Promise<void> | undefined;
  try {
    const source = await createNatsSource({ connection: nc, stream: await stream(), consumer: "ingest" });
    const down = watch(nc, order);
    let fetching = () => {};
    const started = new Promise<void>((resolve) => {
      fetching = resolve;
    });
    spy(nc, "subscribe", "_INBOX.", fetching);
    await nats.kill();
    await down;
    const stopping = new AbortController();
    // A long fetch: it would otherwise end at its expiry, long after the reconnect.
    const fetched = source.fetch(10, 60_000, stopping.signal);
    await started; // the fetch subscribed its inbox: it runs
    await new Promise((resolve) => setImmediate(resolve)); // and it listens to `signal`
    stopping.abort();
    back = nats.restart();
    order.push(`fetch ended with ${(await fetched).length} messages`);
    await back;
    await reconnected(order);
    expect(order).toStrictEqual(["fetch ended with 0 messages", "reconnect"]);
  } finally {
    await up(back);
    await nc.close();
  }
});

it("a fetch failing while NATS is down, stopped while it looks its consumer up, ends at once", async () => {
  const nc = await natsConnection(nats.url);
  const order: string[] = [];
  let back: Promise<void> | undefined;
  try {
    const name = await stream();
    const source = await createNatsSource({ connection: nc, stream: name, consumer: "ingest" });
    const down = watch(nc, order);
    const stopping = new AbortController();
    // Its heartbeats missed, the fetch asks whether its consumer was deleted: stopped then.
    spy(nc, "request", `$JS.API.CONSUMER.INFO.${name}.ingest`, () => {
      stopping.abort();
      back = nats.restart();
    });
    await nats.kill();
    await down;
    const failed = await source.fetch(10, 1000, stopping.signal).then(
      () => "resolved",
      (error: Error) => error.message,
    );
    order.push(failed);
    await back;
    await reconnected(order);
    expect(order).toStrictEqual([
      `nats ${name}/ingest: fetch failed: heartbeats missed (the server is down, or the path to it cut)`,
      "reconnect",
    ]);
  } finally {
    await up(back);
    await nc.close();
  }
});

it("an ingester stopped and its source closed while NATS is down are done before NATS is back", async () => {
  const source = await createNatsSource({ servers: nats.url, stream: await stream(), consumer: "ingest" });
  const store = openAuditStore({ path: join(tempDir(), "ingest.db") });
  const order: string[] = [];
  const down = watch(source.connection, order);
  const errors: string[] = [];
  const ingester = createIngester({ source, store, onError: (e) => errors.push(e.message) });
  let back: Promise<void> | undefined;
  try {
    await nats.kill();
    await down;
    // A fetch failed in the outage: the ingester goes on, fetching again after its retry delay.
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = (async () => {
      await ingester.stop();
      await source.close();
    })();
    back = nats.restart();
    await stopped;
    order.push("stopped and closed");
    await back;
    // Closed at once, the connection never reconnects (a drain waited for the reconnect).
    expect(order).toStrictEqual(["stopped and closed"]);
    expect(source.connection.isClosed()).toBe(true);
  } finally {
    await up(back);
    await source.close();
    store.close();
  }
});
