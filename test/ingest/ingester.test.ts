// createIngester with createNatsSource: events published by real broker emitters to a real
// `nats-server -js` reach a real PostgreSQL exactly once, two ingesters share the work, redelivered
// messages are skipped as duplicates, a failed insert is retried, and poison messages are
// dead-lettered without blocking the others.

import { once as eventOnce } from "node:events";
import { connect } from "node:net";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
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
} from "../../src/nats/index.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { recordMutations } from "../chain/trail.js";
import { readStream } from "../nats/stream-reader.js";
import { freshStream, publishRecorded, publishTrail, storedIds, until, useFleetServers } from "./fleet.js";

const suite = useFleetServers();

/** A fresh stream and database, and a PostgreSQL store on it. */
async function setup(): Promise<{ stream: string; topic: string; url: string; store: PostgresStore }> {
  const [{ stream, topic }, url] = await Promise.all([
    freshStream(suite.nc),
    suite.postgres.createDatabase(),
  ]);
  return { stream, topic, url, store: await openPostgresStore({ connectionString: url }) };
}
const once = (events: readonly AuditEvent[]) => new Map(events.map((e) => [e.eventId, 1]));

describe("createIngester from a JetStream consumer into PostgreSQL", () => {
  it("stores every event a broker emitter published once, protobuf and JSON, then acks them", async () => {
    const { stream, topic, url, store } = await setup();
    const events = [
      ...(await publishTrail(suite.nats.url, topic, 120)),
      ...(await publishTrail(suite.nats.url, topic, 80, "json")),
    ];
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store, batchSize: 64 });
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(await storedIds(url)).toStrictEqual(once(events));
    expect(ingester.stats()).toMatchObject({
      received: events.length,
      inserted: events.length,
      duplicates: 0,
      deadLettered: 0,
      errors: 0,
      lag: 0,
    });
    // Acknowledged: a new ingester on the same consumer gets nothing.
    const consumer = await (await jetstreamManager(suite.nc)).consumers.info(stream, "ingest");
    expect([consumer.num_pending, consumer.num_ack_pending]).toStrictEqual([0, 0]);
    await store.close();
  });

  it("two ingesters on one consumer share the messages; the store holds each event once", async () => {
    const { stream, topic, url, store } = await setup();
    const events = (
      await Promise.all([
        publishTrail(suite.nats.url, topic, 600),
        publishTrail(suite.nats.url, topic, 600, "json"),
      ])
    ).flat();
    const sources = await Promise.all(
      [1, 2].map(() => createNatsSource({ servers: suite.nats.url, stream, consumer: "shared" })),
    );
    // Each ingester's first insert waits until the other has a batch too: else the first to fetch
    // could take every message before the other's first pull reaches the server (a loaded machine),
    // and the other store none. Holding its inserts, the first holds two batches at most (one ahead).
    let haveBatch = 0;
    let bothHaveOne: () => void = () => {};
    const bothHold = new Promise<void>((resolve) => {
      bothHaveOne = resolve;
    });
    const gated = (): IngestStore => {
      let first = true;
      const turn = async () => {
        if (!first) return;
        first = false;
        if (++haveBatch === 2) bothHaveOne();
        await bothHold;
      };
      return {
        insert: (batch) => turn().then(() => store.insert(batch)),
        insertColumns: (batch) => turn().then(() => store.insertColumns(batch)),
        prepareColumns: (batch) => store.prepareColumns(batch),
      };
    };
    const ingesters = sources.map((source) => createIngester({ source, store: gated(), batchSize: 50 }));
    const total = () => ingesters.reduce((sum, i) => sum + i.stats().inserted + i.stats().duplicates, 0);
    await until(() => total() >= events.length, "every event ingested");
    await Promise.all(ingesters.map((i) => i.stop()));
    await Promise.all(sources.map((s) => s.close()));
    expect(await storedIds(url)).toStrictEqual(once(events));
    for (const ingester of ingesters) expect(ingester.stats().batches).toBeGreaterThan(0);
    expect(ingesters.reduce((sum, i) => sum + i.stats().inserted, 0)).toBe(events.length);
    await store.close();
  });

  it("fetches batches larger than JetStream's default 1000 unacknowledged messages whole", async () => {
    const { stream, topic, url, store } = await setup();
    const events = await publishTrail(suite.nats.url, topic, 2500);
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "big" });
    const consumer = await (await jetstreamManager(suite.nc)).consumers.info(stream, "big");
    expect(consumer.config.max_ack_pending).toBe(65_536);
    const ingester = createIngester({ source, store, batchSize: 2000 });
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    // With the default limit each fetch would get at most 1000 messages: three batches or more.
    expect(ingester.stats().batches).toBe(2);
    expect(await storedIds(url)).toStrictEqual(once(events));
    await store.close();
  });

  it("skips an event the store already holds (a redelivery) and counts it as a duplicate", async () => {
    const { stream, topic, url, store } = await setup();
    const events = await publishTrail(suite.nats.url, topic, 30);
    await store.insert(events.slice(0, 10)); // as an ingester that died before its ack would have
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store, batchSize: events.length });
    await until(() => ingester.stats().received === events.length, "every message received");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ inserted: events.length - 10, duplicates: 10 });
    expect(await storedIds(url)).toStrictEqual(once(events));
    await store.close();
  });

  it("hands a batch back when its insert fails, and stores it once the store works again", async () => {
    const { stream, topic, url, store } = await setup();
    const events = await publishTrail(suite.nats.url, topic, 20);
    let failures = 2;
    const flaky: IngestStore = {
      insert: (batch) =>
        failures-- > 0 ? Promise.reject(new Error("database restarting")) : store.insert(batch),
    };
    const errors: string[] = [];
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({
      source,
      store: flaky,
      batchSize: events.length,
      retryDelayMs: 10,
      onError: (error) => errors.push(error.message),
    });
    await until(() => ingester.stats().inserted === events.length, "every event inserted");
    await ingester.stop();
    expect(errors).toStrictEqual(["database restarting", "database restarting"]);
    expect(ingester.stats()).toMatchObject({ errors: 2, inserted: events.length, duplicates: 0 });
    expect(await storedIds(url)).toStrictEqual(once(events));
    await store.close();
  });

  it("stores an event with a NUL character in a filtered field instead of failing its batch for ever", async () => {
    const { stream, topic, store } = await setup();
    const events = await publishRecorded(suite.nats.url, topic, (recorder) => {
      recorder.recordResourceMutation({
        mutation: "update",
        resourceType: "project",
        resourceId: "p\u00001",
      });
      recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "p-2" });
    });
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store, batchSize: events.length, retryDelayMs: 10 });
    await until(() => ingester.stats().batches > 0 || ingester.stats().errors > 0, "a batch or an error");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ errors: 0, inserted: events.length });
    const stored = await store.query({}, { limit: 10 });
    const targets = stored.events.flatMap((e) => (e.target === undefined ? [] : [e.target.id]));
    expect(targets.sort()).toStrictEqual(["p\u00001", "p-2"]);
    await store.close();
  });

  it("stop() during an insert finishes that batch: stored and acknowledged before it resolves", async () => {
    const { stream, topic, url, store } = await setup();
    const events = await publishTrail(suite.nats.url, topic, 10);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserting = false;
    const slow: IngestStore = {
      insert: async (batch) => {
        inserting = true;
        await released;
        return store.insert(batch);
      },
    };
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const ingester = createIngester({ source, store: slow, batchSize: events.length });
    await until(() => inserting, "the insert to start");
    let stopped = false;
    const stopping = ingester.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(ingester.stats()).toMatchObject({ inserted: events.length, batches: 1 });
    expect(await storedIds(url)).toStrictEqual(once(events));
    const jsm = await jetstreamManager(suite.nc);
    const info = await jsm.consumers.info(stream, "ingest");
    expect([info.num_pending, info.num_ack_pending]).toStrictEqual([0, 0]);
    await store.close();
  });

  it("moves undecodable messages to the dead-letter stream, counts them, and stores the rest", async () => {
    const { stream, topic, url, store } = await setup();
    const before = await publishTrail(suite.nats.url, topic, 5);
    const js = jetstream(suite.nc);
    const poison = (contentType: string | undefined, data: string) => {
      const h = headers();
      if (contentType !== undefined) h.set(BROKER_HEADER.CONTENT_TYPE, contentType);
      return js.publish(topic, new TextEncoder().encode(data), { headers: h });
    };
    await poison(BROKER_CONTENT_TYPE.protobuf, "\xff\xff\xff not protobuf");
    await poison(BROKER_CONTENT_TYPE.json, '{"eventId": "e-1", "actor":');
    await poison(BROKER_CONTENT_TYPE.json, '{"eventId": "e-1"}');
    await poison("text/plain", "hello");
    const after = await publishTrail(suite.nats.url, topic, 5, "json");
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const good = before.length + after.length;
    const ingester = createIngester({ source, store, batchSize: good + 4 });
    await until(() => ingester.stats().received === good + 4, "every message received");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ deadLettered: 4, inserted: good, errors: 0 });
    expect(await storedIds(url)).toStrictEqual(once([...before, ...after]));
    const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
    expect(dead.map((m) => m.subject)).toStrictEqual(Array(4).fill(`grpc-audit.dead-letter.${stream}`));
    expect(dead.map((m) => m.headers[DEAD_LETTER_FROM_HEADER])).toStrictEqual(
      [1, 2, 3, 4].map((i) => before.length + i).map((seq) => `${stream} seq ${seq}`),
    );
    expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([
      expect.stringMatching(/^not an AuditEvent as application\/x-protobuf: /),
      expect.stringMatching(/^not an AuditEvent as application\/json: /),
      "the event has no occurredAt",
      'unknown content-type "text/plain"',
    ]);
    expect(new TextDecoder().decode(dead[3]?.data)).toBe("hello");
    await store.close();
  });
});

/** Publishes `data` with a raw header block, as a client that does not check header names could. */
async function publishRawHeaders(port: number, subject: string, headerBlock: string, data: Uint8Array) {
  const socket = connect({ host: "127.0.0.1", port });
  const hdr = Buffer.from(headerBlock, "latin1");
  let received = "";
  const pong = new Promise<void>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("PONG")) resolve();
      if (received.includes("-ERR")) reject(new Error(received));
    });
    socket.once("error", reject);
  });
  await eventOnce(socket, "connect");
  socket.write('CONNECT {"verbose":false,"headers":true}\r\n');
  socket.write(`HPUB ${subject} ${hdr.length} ${hdr.length + data.length}\r\n`);
  socket.write(Buffer.concat([hdr, data, Buffer.from("\r\nPING\r\n")]));
  await pong;
  socket.destroy();
}

describe("createIngester and a header block the NATS client cannot read", () => {
  it("dead-letters the message (no headers copied), counts it, and goes on with the stream", async () => {
    const { stream, topic, url, store } = await setup();
    const before = await publishRecorded(suite.nats.url, topic, (recorder) => recordMutations(recorder, 1));
    const unreadable = encodeEvent(before[0] as AuditEvent);
    await publishRawHeaders(suite.nats.port, topic, "NATS/1.0\r\nBad\u0001Name: x\r\n\r\n", unreadable);
    const after = await publishTrail(suite.nats.url, topic, 3);
    const source = await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const good = before.length + after.length;
    const ingester = createIngester({ source, store, batchSize: good + 1 });
    await until(() => ingester.stats().received === good + 1, "every message received");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ deadLettered: 1, inserted: good, errors: 0 });
    expect(await storedIds(url)).toStrictEqual(once([...before, ...after]));
    const dead = await readStream(suite.nc, `${stream}_DEAD_LETTER`);
    expect(
      dead.map((m) => [m.headers[DEAD_LETTER_FROM_HEADER], m.headers[DEAD_LETTER_REASON_HEADER]]),
    ).toStrictEqual([[`${stream} seq ${before.length + 1}`, expect.stringMatching(/^unreadable headers: /)]]);
    expect(Buffer.from(dead[0]?.data ?? [])).toStrictEqual(Buffer.from(unreadable));
    await store.close();
  });
});

describe("createIngester options", () => {
  it("rejects bad options with an AuditConfigError naming the option", () => {
    const source = {
      fetch: async () => [],
      ack: async () => {},
      retry: async () => {},
      deadLetter: async () => {},
      lag: () => undefined,
      name: "x",
    };
    const store = { insert: () => 0 };
    expect(() => createIngester({ source, store, batchSize: 0 })).toThrow(
      /`batchSize` must be a positive integer, got 0/,
    );
    expect(() => createIngester({ source, store: {} as IngestStore })).toThrow(/`store` must have insert/);
  });
});
