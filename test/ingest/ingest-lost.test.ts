// Messages a JetStream stream removes before an ingester stored them (discard old limits, max_age,
// deletions) are counted in `lost` and reported once per growth, on a real nats-server into a real
// SQLite store; a stream that can remove messages is named at open; several ingesters on one
// consumer never count a message twice.
import { join } from "node:path";
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager, type StreamConfig } from "@nats-io/jetstream";
import { headers, nanos } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createIngester, type Ingester, type IngestSource } from "../../src/ingest/index.js";
import { createNatsSource, type NatsSource } from "../../src/nats/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { until } from "./fleet.js";

const nc = useNatsServer();
let streams = 0;
let published = 0;

/** A fresh stream `LOST_<n>` on `lost<n>.>` with `limits`, and its consumer "ingest" made as an earlier ingest run left it. */
async function setup(limits: Partial<StreamConfig> = {}) {
  streams++;
  const stream = `LOST_${streams}`;
  const topic = `lost${streams}.events`;
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: stream, subjects: [`lost${streams}.>`], ...limits });
  // Opened and closed before the events come: the consumer exists, no ingester runs.
  await createNatsSource({ connection: nc(), stream, consumer: "ingest" });
  const store = openAuditStore({ path: join(tempDir(), "audit.db") });
  return { stream, topic, store };
}

/** Publishes `count` events, as the broker emitter would (protobuf, with the event id header). */
async function publish(topic: string, count: number): Promise<void> {
  const js = jetstream(nc());
  for (let i = 0; i < count; i++) {
    const event = sampleEvent({ eventId: `lost-${++published}` });
    const h = headers();
    h.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.protobuf);
    h.set(BROKER_HEADER.EVENT_ID, event.eventId);
    await js.publish(topic, encodeEvent(event), { headers: h });
  }
}

/**
 * An ingester of `stream`'s consumer "ingest" into `store`, and what it reported to onError. A
 * `batchSize` of the messages waiting ends the first fetch once they came, not after its 1 s wait.
 */
async function ingest(stream: string, store: AuditStore, batchSize?: number) {
  const source = await createNatsSource({ connection: nc(), stream, consumer: "ingest" });
  const reported: string[] = [];
  const ingester = createIngester({
    source,
    store,
    maxWaitMs: 1000,
    ...(batchSize === undefined ? {} : { batchSize }),
    onError: (error) => reported.push(error.message),
  });
  return { source, ingester, reported };
}

/** Stops the ingester, closes the store and resolves to how many events it holds. */
async function finish(ingester: Ingester, store: AuditStore): Promise<number> {
  await ingester.stop();
  const stored = store.stats().total;
  store.close();
  return stored;
}

describe("messages the stream removed before ingest stored them", () => {
  it("are counted in lost and reported once: discard old with max_msgs 2, 7 published while no ingester ran", async () => {
    const { stream, topic, store } = await setup({ discard: DiscardPolicy.Old, max_msgs: 2 });
    await publish(topic, 7);
    const { source, ingester, reported } = await ingest(stream, store, 2);
    await until(() => ingester.stats().inserted === 2, "the 2 messages kept inserted");
    expect(await finish(ingester, store)).toBe(2);
    expect(ingester.stats()).toMatchObject({ received: 2, inserted: 2, lost: 5, errors: 0, lag: 0 });
    expect(reported).toStrictEqual([
      `nats ${stream}/ingest: 5 messages were removed by the broker before ingest stored them ` +
        "(retention limits or deletions): their events are lost",
    ]);
    expect(source.warnings).toStrictEqual([
      `stream "${stream}" deletes its oldest messages at 2 messages (max_msgs) (discard old) whether ingested ` +
        "or not: those removed before ingest stored them are lost, and counted as lost; use discard new, so " +
        "that a full stream refuses new events instead",
    ]);
  });

  it("are counted in lost: max_age, 5 expired while no ingester ran, 2 published after", async () => {
    const { stream, topic, store } = await setup({ max_age: nanos(1000) });
    await publish(topic, 5);
    const jsm = await jetstreamManager(nc());
    await until(async () => (await jsm.streams.info(stream)).state.messages === 0, "the 5 expired");
    await publish(topic, 2);
    const { source, ingester, reported } = await ingest(stream, store, 2);
    await until(() => ingester.stats().inserted === 2, "the 2 new messages inserted");
    expect(await finish(ingester, store)).toBe(2);
    expect(ingester.stats()).toMatchObject({ inserted: 2, lost: 5, errors: 0 });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toContain(": 5 messages were removed by the broker before ingest stored them");
    expect(source.warnings).toStrictEqual([
      `stream "${stream}" removes messages after 1s (max_age) whether ingested or not: those removed ` +
        "before ingest stored them are lost, and counted as lost; set max_age 0, or longer than any ingest outage",
    ]);
  });

  it("are counted as they happen: deleted messages and a purge between two ingesters of one source", async () => {
    const { stream, topic, store } = await setup();
    const { source, ingester, reported } = await ingest(stream, store);
    await publish(topic, 3);
    await until(() => ingester.stats().inserted === 3, "the first 3 inserted");
    await ingester.stop(); // no pull waits now: 5 of the next 6 are removed before any delivery
    await publish(topic, 6); // seqs 4 to 9
    const jsm = await jetstreamManager(nc());
    await jsm.streams.deleteMessage(stream, 5);
    await jsm.streams.deleteMessage(stream, 7, false);
    await jsm.streams.purge(stream, { seq: 9 }); // removes 4, 6 and 8, the others left below 9
    const reportedNext: string[] = [];
    const next = createIngester({ source, store, onError: (error) => reportedNext.push(error.message) });
    await until(() => next.stats().inserted === 1, "the one kept inserted");
    await publish(topic, 2);
    await until(() => next.stats().inserted === 3, "2 more inserted");
    expect(await finish(next, store)).toBe(6);
    expect([ingester.stats().lost, next.stats().lost, source.lost?.()]).toStrictEqual([0, 5, 5]);
    expect([reported, reportedNext.length]).toStrictEqual([[], 1]);
  });

  it("are never counted twice by two ingesters on one consumer, and each counts what it saw", async () => {
    const { stream, topic, store } = await setup({ discard: DiscardPolicy.Old, max_msgs: 50 });
    const jsm = await jetstreamManager(nc());
    await publish(topic, 200); // 150 removed before any ingester
    const first = await ingest(stream, store);
    const second = await ingest(stream, store);
    for (let round = 0; round < 5; round++) {
      await publish(topic, 100); // 50 of them removed before delivery, unless pulled in time
      await until(
        async () => (await jsm.consumers.info(stream, "ingest")).num_pending === 0,
        "the consumer caught up",
      );
    }
    await until(async () => {
      const info = await jsm.consumers.info(stream, "ingest");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, "every message kept acknowledged");
    await first.ingester.stop();
    const kept = await finish(second.ingester, store);
    const removed = 700 - kept;
    const lost = (first.ingester.stats().lost ?? 0) + (second.ingester.stats().lost ?? 0);
    expect(removed).toBeGreaterThanOrEqual(150);
    expect(lost).toBeGreaterThanOrEqual(150 - 0); // the 150 before: counted by the first delivery's receiver
    expect(lost).toBeLessThanOrEqual(removed);
  });
});

describe("two sources on one consumer, fetching in turn", () => {
  it("count a gap only after a delivery they know of, so never one the other counts", async () => {
    const { stream, topic } = await setup();
    const jsm = await jetstreamManager(nc());
    const [a, b] = [
      await createNatsSource({ connection: nc(), stream, consumer: "ingest" }),
      await createNatsSource({ connection: nc(), stream, consumer: "ingest" }),
    ];
    const signal = new AbortController().signal;
    const fetch = async (source: NatsSource, max: number) => {
      const messages = await source.fetch(max, 1000, signal);
      await source.ack(messages);
      return messages.map((m) => m.msg.seq);
    };
    await publish(topic, 10);
    expect(await fetch(a, 3)).toStrictEqual([1, 2, 3]);
    expect(await fetch(b, 3)).toStrictEqual([4, 5, 6]);
    await jsm.streams.deleteMessage(stream, 8);
    // a knows its deliveries 7 and 8 follow each other: seq 8 between them was removed.
    expect(await fetch(a, 3)).toStrictEqual([7, 9, 10]);
    expect([a.lost?.(), b.lost?.()]).toStrictEqual([1, 0]);
    await publish(topic, 5);
    await jsm.streams.deleteMessage(stream, 11);
    await jsm.streams.deleteMessage(stream, 12);
    // b's last delivery was a's delivery 6, not 9: 7 to 12 may be a's, it counts nothing.
    expect(await fetch(b, 3)).toStrictEqual([13, 14, 15]);
    expect([a.lost?.(), b.lost?.()]).toStrictEqual([1, 0]);
    // An empty fetch reads the consumer's info: a learns of delivery 12 (seq 15), so it counts what follows.
    expect(await fetch(a, 3)).toStrictEqual([]);
    await publish(topic, 3);
    await jsm.streams.deleteMessage(stream, 16);
    expect(await fetch(a, 3)).toStrictEqual([17, 18]);
    expect([a.lost?.(), b.lost?.()]).toStrictEqual([2, 0]);
    // A redelivery between two new messages leaves the consumer's position where it was.
    await publish(topic, 4); // 19 to 22
    const held = await a.fetch(2, 1000, signal);
    expect(held.map((m) => m.msg.seq)).toStrictEqual([19, 20]);
    await a.retry(held.slice(0, 1));
    await a.ack(held.slice(1));
    await jsm.streams.deleteMessage(stream, 21);
    expect(await fetch(a, 3)).toStrictEqual([19, 22]);
    expect([a.lost?.(), b.lost?.()]).toStrictEqual([3, 0]);
  });
});

describe("a stream that removes nothing", () => {
  it("reports lost 0 and no warning", async () => {
    const { stream, topic, store } = await setup();
    await publish(topic, 20);
    const { source, ingester, reported } = await ingest(stream, store, 20);
    await until(() => ingester.stats().inserted === 20, "20 inserted");
    await finish(ingester, store);
    expect(ingester.stats()).toMatchObject({ inserted: 20, lost: 0, errors: 0 });
    expect([reported, source.warnings]).toStrictEqual([[], []]);
  });

  it("a consumer that reads only some of the stream's subjects cannot count: lost is undefined", async () => {
    const { stream, topic, store } = await setup({ max_age: nanos(3_600_000) });
    const jsm = await jetstreamManager(nc());
    await jsm.consumers.add(stream, {
      durable_name: "projects",
      ack_policy: AckPolicy.Explicit,
      filter_subject: topic,
    });
    const source: NatsSource = await createNatsSource({
      connection: nc(),
      stream,
      consumer: "projects",
      subject: topic,
    });
    await publish(`lost${streams}.other`, 3);
    await publish(topic, 2);
    const ingester = createIngester({ source, store, batchSize: 2 });
    await until(() => ingester.stats().inserted === 2, "2 inserted");
    await finish(ingester, store);
    expect([source.lost, ingester.stats().lost]).toStrictEqual([undefined, undefined]);
    expect(source.warnings).toStrictEqual([
      `stream "${stream}" removes messages after 1h (max_age) whether ingested or not: those removed before ` +
        `ingest stored them are lost, uncounted (the consumer reads only ["${topic}"] of it); set max_age 0, or ` +
        "longer than any ingest outage",
    ]);
  });
});

describe("createIngester and a source's lost()", () => {
  /** A source that delivers nothing and reports `lost[i]` after its i-th fetch (the last one after that). */
  const counting = (lost: number[] | undefined) => {
    let fetches = 0;
    const source: IngestSource = {
      name: "fake AUDIT/ingest",
      fetch: async () => {
        fetches++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return [];
      },
      ack: async () => {},
      retry: async () => {},
      deadLetter: async () => {},
      lag: () => 0,
      ...(lost === undefined ? {} : { lost: () => lost[Math.min(fetches, lost.length) - 1] ?? 0 }),
    };
    return { source, fetches: () => fetches };
  };

  it("reports each growth once, with the total since start, and not as an error", async () => {
    const { source, fetches } = counting([0, 5, 5, 7]);
    const reported: string[] = [];
    const ingester = createIngester({
      source,
      store: { insert: () => 0 },
      onError: (error) => reported.push(error.message),
    });
    await until(() => fetches() >= 6, "6 fetches");
    await ingester.stop();
    expect(reported).toStrictEqual([
      "fake AUDIT/ingest: 5 messages were removed by the broker before ingest stored them (retention " +
        "limits or deletions): their events are lost",
      "fake AUDIT/ingest: 2 messages were removed by the broker before ingest stored them (retention " +
        "limits or deletions): their events are lost (7 since start)",
    ]);
    expect(ingester.stats()).toMatchObject({ lost: 7, errors: 0 });
  });

  it("leaves lost undefined when the source has no lost()", async () => {
    const { source, fetches } = counting(undefined);
    const ingester = createIngester({ source, store: { insert: () => 0 } });
    await until(() => fetches() >= 2, "2 fetches");
    await ingester.stop();
    expect(ingester.stats().lost).toBeUndefined();
  });
});
