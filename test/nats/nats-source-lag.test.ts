// The lag a NATS ingest source reports (messages not yet delivered to any ingester) on a real
// nats-server, when a fetch comes back empty because the consumer may not deliver more: its ack-pending
// limit reached by another ingester's batch. An empty fetch does not mean nothing is waiting.
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createNatsSource } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { freshStream, natsConnection } from "../ingest/fleet.js";

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await natsConnection(nats.url);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

it("an empty fetch of a stalled consumer reports the messages still waiting, not 0", async () => {
  const { stream, topic } = await freshStream(nc);
  // A consumer made before the ingesters, allowing 2 unacknowledged messages (createNatsSource keeps it).
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, {
    durable_name: "ingest",
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 2,
  });
  const js = jetstream(nc);
  for (let i = 0; i < 10; i++) await js.publish(topic, new Uint8Array([i]));
  const first = await createNatsSource({ connection: nc, stream, consumer: "ingest" });
  const second = await createNatsSource({ connection: nc, stream, consumer: "ingest" });
  try {
    const held = await first.fetch(5, 500, new AbortController().signal);
    expect([held.length, first.lag()]).toEqual([2, 8]);
    // The first ingester holds the two the consumer allows: nothing comes, 8 still wait.
    expect(await second.fetch(5, 500, new AbortController().signal)).toEqual([]);
    expect(second.lag()).toBe(8);
    await first.ack(held);
    const next = await second.fetch(5, 500, new AbortController().signal);
    expect([next.length, second.lag()]).toEqual([2, 6]);
  } finally {
    await first.close();
    await second.close();
  }
});
