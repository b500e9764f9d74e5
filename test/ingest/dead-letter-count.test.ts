// What an ingester counts of the undecodable messages another consumer already dead-lettered: a real
// `nats-server -js`, real broker emitters, real SQLite stores. Each message fetched is counted once,
// so received = inserted + duplicates + dead-lettered.
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngester } from "../../src/ingest/index.js";
import { createNatsSource } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, natsConnection, publishTrail, until } from "./fleet.js";

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await natsConnection(nats.url);
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Runs an ingester of `consumer` into a new SQLite store until it has acknowledged every message. */
async function ingestAll(stream: string, consumer: string, count: number) {
  const store = openAuditStore({ path: join(tempDir(), `${consumer}.db`) });
  const source = await createNatsSource({ connection: nc, stream, consumer });
  const ingester = createIngester({ source, store, batchSize: 50 });
  const jsm = await jetstreamManager(nc);
  const acknowledged = async () => {
    const info = await jsm.consumers.info(stream, consumer);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  };
  try {
    await until(
      async () => ingester.stats().received >= count && (await acknowledged()),
      `${consumer}: every message acknowledged`,
    );
  } finally {
    await ingester.stop();
    await source.close();
    store.close();
  }
  const { received, inserted, duplicates, deadLettered, errors } = ingester.stats();
  return { received, inserted, duplicates, deadLettered, errors };
}

describe("undecodable messages another consumer already dead-lettered", () => {
  it("are counted as duplicates by a new consumer reading them again: nothing goes uncounted", async () => {
    const { stream, topic } = await freshStream(nc);
    const events = await publishTrail(nats.url, topic, 40);
    const js = jetstream(nc);
    for (const junk of ["not an event", "", '{"eventId":"x"}'])
      await js.publish(topic, new TextEncoder().encode(junk));
    const total = events.length + 3;
    const first = await ingestAll(stream, "first", total);
    // A new consumer reads the stream from its start: the dead-letter stream drops its copies by id.
    const second = await ingestAll(stream, "second", total);
    expect({ first, second }).toStrictEqual({
      first: { received: total, inserted: events.length, duplicates: 0, deadLettered: 3, errors: 0 },
      second: { received: total, inserted: events.length, duplicates: 3, deadLettered: 0, errors: 0 },
    });
    expect(await readStream(nc, `${stream}_DEAD_LETTER`)).toHaveLength(3);
  });
});
