// How createIngester keeps a real `nats-server -js` and a real PostgreSQL busy at once: it fetches the
// next batch while the current one is inserted (never more than one batch ahead) and reads it at once
// (the store's COPY data prepared; its dead letters wait for its turn), and hands the store the events' bytes as the
// broker carried them instead of encoding them again.
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { createIngester, type IngestSource, type IngestStore } from "../../src/ingest/index.js";
import { createNatsSource, type NatsSourceMessage } from "../../src/nats/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { withClient } from "../helpers/postgres-server.js";
import { freshStream, publishTrail, storedIds, until, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

describe("createIngester's pipeline", () => {
  it("fetches the next batch while one is inserted, and no further ahead", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const events = await publishTrail(suite.nats.url, topic, 40);
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const fetched: number[] = []; // sizes of the batches fetched so far
    const counting: IngestSource<NatsSourceMessage> = {
      ...source,
      fetch: async (max, wait, signal) => {
        const batch = await source.fetch(max, wait, signal);
        fetched.push(batch.length);
        return batch;
      },
    };
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const blocked: IngestStore = {
      insert: async (batch) => {
        await released; // the first insert holds until the test lets it go
        return store.insert(batch);
      },
    };
    const ingester = createIngester({ source: counting, store: blocked, batchSize: 10 });
    await until(() => fetched.length === 2, "a second batch fetched during the first insert");
    // The second batch waits for its insert; fetching a third would need the first insert done.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fetched).toStrictEqual([10, 10]);
    expect(ingester.stats().batches).toBe(0);
    release();
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(await storedIds(url)).toStrictEqual(new Map(events.map((e) => [e.eventId, 1])));
    await store.close();
  });

  it("reads the next batch (COPY data prepared) while the one before is inserted; its dead letters go at its turn", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const first = await publishTrail(suite.nats.url, topic, 5);
    await jetstream(suite.nc).publish(topic, new TextEncoder().encode("\xff not protobuf"));
    const second = await publishTrail(suite.nats.url, topic, 4);
    // Batch 1: the first trail; batch 2: the poison message and the second trail.
    expect(second.length + 1).toBeLessThanOrEqual(first.length);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserts = 0;
    let prepared = 0;
    const blocked: IngestStore = {
      insert: (events) => store.insert(events),
      insertColumns: async (batch) => {
        inserts++;
        await released; // the first insert holds until the test lets it go
        return store.insertColumns(batch);
      },
      prepareColumns: (batch) => {
        prepared++;
        store.prepareColumns(batch);
      },
    };
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store: blocked, batchSize: first.length });
    const all = first.length + 1 + second.length;
    await until(() => ingester.stats().received === all && prepared === 2, "batch 2 read");
    // Not yet the poison message's dead letter: a source may rewind on a failed one (Kafka does).
    expect([inserts, ingester.stats().batches, ingester.stats().deadLettered]).toStrictEqual([1, 0, 0]);
    release();
    await until(() => ingester.stats().batches === 2, "both batches stored");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ inserted: all - 1, deadLettered: 1, errors: 0 });
    expect(await storedIds(url)).toStrictEqual(new Map([...first, ...second].map((e) => [e.eventId, 1])));
    await store.close();
  });

  it("stores the bytes of protobuf messages as they came, and encodes those that came as JSON", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const protobuf = await publishTrail(suite.nats.url, topic, 20);
    const json = await publishTrail(suite.nats.url, topic, 10, "json");
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const sent = new Map<string, Uint8Array>(); // event id → the bytes the store was given (copies)
    let decodedInserts = 0;
    const watched: IngestStore = {
      insert: (batch) => {
        decodedInserts++;
        return store.insert(batch);
      },
      insertColumns: (batch) => {
        for (let i = 0; i < batch.length; i++)
          sent.set(batch.ids[i] ?? "", new Uint8Array(batch.events[i] ?? []));
        return store.insertColumns(batch);
      },
    };
    const messages = new Map<string, Uint8Array>(); // event id → the protobuf message's bytes (copies)
    const watchedSource: IngestSource<NatsSourceMessage> = {
      ...source,
      fetch: async (max, wait, signal) => {
        const batch = await source.fetch(max, wait, signal);
        for (const m of batch) {
          if (m.header(BROKER_HEADER.CONTENT_TYPE) === BROKER_CONTENT_TYPE.protobuf)
            messages.set(decodeEvent(m.data).eventId, new Uint8Array(m.data));
        }
        return batch;
      },
    };
    const ingester = createIngester({ source: watchedSource, store: watched, batchSize: 8 });
    const total = protobuf.length + json.length;
    await until(() => ingester.stats().inserted === total, "every event inserted");
    await ingester.stop();
    expect(decodedInserts).toBe(0);
    expect(messages.size).toBe(protobuf.length);
    for (const e of protobuf) expect(sent.get(e.eventId)).toStrictEqual(messages.get(e.eventId));
    const stored = await withClient(url, (c) =>
      c.query<{ event_id: string; event: Buffer }>("SELECT event_id, event FROM audit_events"),
    );
    const byId = new Map(stored.rows.map((r) => [r.event_id, new Uint8Array(r.event)]));
    for (const e of protobuf) expect(byId.get(e.eventId)).toStrictEqual(messages.get(e.eventId));
    for (const e of json) expect(decodeEvent(byId.get(e.eventId) ?? new Uint8Array())).toStrictEqual(e);
    await store.close();
  });
});
