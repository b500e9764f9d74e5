// Stopping a fetch on its signal stopped the client's subscription at once: messages the server had
// already sent into the fetch were dropped unseen, neither returned nor handed back, and came to no
// ingester until the consumer's ack wait passed (a restarted `grpc-audit ingest` showed lag 0 and
// verify reported them missing). A stopped fetch now runs to its end and returns them.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createNatsSource } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import { freshStream } from "../ingest/fleet.js";

const COUNT = 50;

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

it("a fetch stopped while the server's messages are on their way returns them, none left to the ack wait", async () => {
  const { stream, topic } = await freshStream(nc);
  const jsm = await jetstreamManager(nc);
  const consumerInfo = () => jsm.consumers.info(stream, "ingest");
  // The stopping ingester's connection goes through a proxy that can hold what the server sends.
  const proxy = await startSilentProxy(nats.port);
  const stopping = await connect({ servers: `127.0.0.1:${proxy.port}` });
  const first = await createNatsSource({
    connection: stopping,
    stream,
    consumer: "ingest",
    ackWaitMs: 60_000,
  });
  const second = await createNatsSource({ connection: nc, stream, consumer: "ingest" });
  try {
    const signal = new AbortController();
    const fetching = first.fetch(COUNT, 10_000, signal.signal);
    await expect.poll(async () => (await consumerInfo()).num_waiting).toBe(1);
    proxy.freeze();
    const js = jetstream(nc);
    for (let i = 0; i < COUNT; i++) await js.publish(topic, new Uint8Array([i]));
    // Sent by the server into the fetch, held on the way: then the ingester is told to stop.
    await expect.poll(async () => (await consumerInfo()).num_ack_pending).toBe(COUNT);
    signal.abort();
    await new Promise((resolve) => setImmediate(resolve));
    proxy.thaw();
    const stored = await fetching;
    await first.ack(stored);
    // The restarted ingester's first fetch: what the stopped one did not return is there at once.
    const restarted = await second.fetch(COUNT, 1000, new AbortController().signal);
    const seqs = [...stored, ...restarted].map((m) => m.msg.seq).sort((a, b) => a - b);
    expect(seqs).toStrictEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  } finally {
    await first.close();
    await second.close();
    await stopping.close();
    await proxy.close();
  }
}, 60_000);
