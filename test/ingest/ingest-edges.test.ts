// NATS → PostgreSQL ingestion at the edges (times at the ends of the range, one id at two times, a poison
// message as large as the server allows): a real nats-server and a real PostgreSQL.
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester, type IngestStore } from "../../src/ingest/index.js";
import {
  createNatsSource,
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../../src/nats/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { withClient } from "../helpers/postgres-server.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, until, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

async function publish(topic: string, events: readonly AuditEvent[]): Promise<void> {
  const js = jetstream(suite.nc);
  for (const event of events) {
    const h = headers();
    h.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.protobuf);
    await js.publish(topic, encodeEvent(event), { headers: h });
  }
}

async function storedRows(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const r = await c.query<{ k: string }>(
      "SELECT event_id || '@' || occurred_at_ms k FROM audit_events ORDER BY event_id, occurred_at_ms",
    );
    return r.rows.map((row) => row.k);
  });
}

describe("ingestion into PostgreSQL", () => {
  it("an event of 0001-01-01 (protobuf's smallest Timestamp) in the middle of a batch holds no event back", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const t0 = Date.parse("2026-03-01T00:00:00Z");
    const events = [
      sampleEvent({ eventId: "a", occurredAt: new Date(t0) }),
      sampleEvent({ eventId: "zero-time", occurredAt: new Date("0001-01-01T00:00:00Z") }),
      sampleEvent({ eventId: "b", occurredAt: new Date(t0 + 1) }),
    ];
    await publish(topic, events);
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({
      source,
      store,
      batchSize: events.length,
      retryDelayMs: 10,
      maxWaitMs: 1000,
    });
    try {
      await until(
        () => ingester.stats().inserted >= 3 || ingester.stats().errors >= 3,
        "3 inserted or 3 errors",
      );
    } finally {
      await ingester.stop();
      await store.close();
    }
    expect(ingester.stats()).toMatchObject({ inserted: 3, errors: 0, duplicates: 0 });
    expect(await storedRows(url)).toStrictEqual([
      `a@${t0}`,
      `b@${t0 + 1}`,
      `zero-time@${Date.parse("0001-01-01T00:00:00Z")}`,
    ]);
  });

  it("two events with one id and different times are both stored whether or not they share a batch", async () => {
    // postgres.md: the key is (event_id, occurred_at_ms); "Two events with the same id and different
    // times would both be kept". Within one batch too; a copy of either is a duplicate.
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const t0 = Date.parse("2026-03-01T00:00:00Z");
    await publish(topic, [
      sampleEvent({ eventId: "same", occurredAt: new Date(t0) }),
      sampleEvent({ eventId: "same", occurredAt: new Date(t0 + 5) }),
      sampleEvent({ eventId: "same", occurredAt: new Date(t0 + 5) }),
      sampleEvent({ eventId: "same", occurredAt: new Date(t0) }),
    ]);
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store, batchSize: 4 });
    try {
      await until(() => ingester.stats().received === 4 && ingester.stats().batches > 0, "all received");
    } finally {
      await ingester.stop();
      await store.close();
    }
    expect(await storedRows(url)).toStrictEqual([`same@${t0}`, `same@${t0 + 5}`]);
    expect(ingester.stats()).toMatchObject({ received: 4, inserted: 2, duplicates: 2 });
  });
});

describe("a poison message as large as the server allows", () => {
  it("is dead-lettered (counted) rather than failing again at every redelivery", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const maxPayload = suite.nc.info?.max_payload ?? 1024 * 1024;
    // Not protobuf (0xff… is no valid tag), and as large as a message without headers may be.
    await jetstream(suite.nc).publish(topic, new Uint8Array(maxPayload - 64).fill(0xff));
    const good = sampleEvent({ eventId: "good" });
    await publish(topic, [good]);
    const source = await createNatsSource({
      connection: suite.nc,
      stream,
      consumer: "ingest",
      ackWaitMs: 2500,
    });
    const errors: string[] = [];
    const ingester = createIngester({ source, store, batchSize: 2, onError: (e) => errors.push(e.message) });
    try {
      await until(() => ingester.stats().inserted === 1, "the good event");
      await new Promise((resolve) => setTimeout(resolve, 6000)); // two redeliveries, if it comes back
    } finally {
      await ingester.stop();
      await store.close();
    }
    expect({ ...ingester.stats(), errors }).toMatchObject({ deadLettered: 1, inserted: 1, errors: [] });
    // the dead letter says where the whole message is, why, and that its value was cut
    const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.headers).toMatchObject({
      [DEAD_LETTER_FROM_HEADER]: `${stream} seq 1`,
      [DEAD_LETTER_REASON_HEADER]: expect.stringMatching(/^not an AuditEvent as /),
      [DEAD_LETTER_TRUNCATED_HEADER]: String(maxPayload - 64),
    });
  }, 30_000);
});

describe("a poison message redelivered before its dead letter was acknowledged", () => {
  it("is dead-lettered once and counted once", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const store = await openPostgresStore({ connectionString: await suite.postgres.createDatabase() });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserting = false;
    const held: IngestStore = {
      insert: async (events) => {
        inserting = true;
        await released;
        return store.insert(events);
      },
    };
    const errors: string[] = [];
    const options = { batchSize: 10, maxWaitMs: 1000, onError: (e: Error) => errors.push(e.message) };
    const consumer = { connection: suite.nc, stream, consumer: "ingest", ackWaitMs: 2000 };
    await publish(topic, [sampleEvent({ eventId: "good" })]);
    // The first ingester holds the good event in an insert that waits, and the poison fetched ahead
    // of it: past the 2 s ack wait, both are redelivered to the second ingester.
    const first = createIngester({ ...options, source: await createNatsSource(consumer), store: held });
    await until(() => inserting, "the first insert");
    await jetstream(suite.nc).publish(topic, new TextEncoder().encode("not an event"));
    await until(() => first.stats().received >= 2, "the poison fetched ahead"); // with the good one again, maybe
    const second = createIngester({ ...options, source: await createNatsSource(consumer), store });
    try {
      await until(() => second.stats().deadLettered === 1, "the second ingester's dead letter");
    } finally {
      release(); // the first now sends its dead letter of the same message
      await Promise.all([first.stop(), second.stop()]);
      await store.close();
    }
    // An error, such as a dead letter's failed ack, would also leave the first count at 0. The first's
    // copy, dropped by the dead-letter stream, is a duplicate: every message it received is counted.
    const { received, inserted, duplicates, deadLettered } = first.stats();
    expect({
      first: deadLettered,
      second: second.stats().deadLettered,
      errors,
      uncountedByFirst: received - inserted - duplicates - deadLettered,
    }).toStrictEqual({
      first: 0,
      second: 1,
      errors: [],
      uncountedByFirst: 0,
    });
    expect(await readStream(suite.nc, `${stream}_DEAD_LETTER`)).toHaveLength(1);
  }, 30_000);
});

describe("a batch that waits longer to fill than the consumer's ack wait", () => {
  it("is cut short at half the ack wait, so its messages are not redelivered while it is held", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const store = await openPostgresStore({ connectionString: await suite.postgres.createDatabase() });
    await publish(topic, [sampleEvent({ eventId: "one" })]);
    // Held for 6 s, the event would come again at 2 s and at 4 s (the ack wait) into the same fetch.
    const source = await createNatsSource({
      connection: suite.nc,
      stream,
      consumer: "ingest",
      ackWaitMs: 2000,
    });
    const ingester = createIngester({ source, store, batchSize: 10, maxWaitMs: 6000 });
    try {
      await until(() => ingester.stats().batches === 1, "the batch");
    } finally {
      await ingester.stop();
      await store.close();
    }
    expect(ingester.stats()).toMatchObject({ received: 1, inserted: 1, duplicates: 0 });
  }, 30_000);
});
