// createKafkaSource when retention (retention.ms, retention.bytes, DeleteRecords) removed messages
// the group had not stored: on a stand-in for Kafka and its client (fake-kafka.ts: no broker runs here;
// reading below a partition's log start fails as the real client's stream does on OFFSET_OUT_OF_RANGE),
// with createIngester into a real SQLite store file. The source moves past the removed messages and
// counts them in lost(), exactly: never what was stored, redelivered or read by another member.
import { afterEach, describe, expect, it } from "vitest";
import { createIngester, type IngestStore } from "../../src/ingest/index.js";
import { seedEvents } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { fakeIngestSetup, ids, publishToFake, storedIds, TOPIC } from "./fake-ingest.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe("createKafkaSource when retention removed messages not yet stored", () => {
  it("counts those below the log start as lost, stores the rest and commits past them (it stalled on OFFSET_OUT_OF_RANGE)", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(12);
    await publishToFake(kafka, events);
    kafka.commitOffset(0, 0);
    kafka.deleteRecords(0, 5);
    const errors: string[] = [];
    const s = await source();
    const ingester = createIngester({
      source: s,
      store,
      retryDelayMs: 10,
      onError: (error) => errors.push(error.message),
    });
    await until(() => ingester.stats().inserted === 7, "the events after the log start stored");
    await ingester.stop();
    expect(storedIds(store)).toStrictEqual(ids(events.slice(5)));
    expect(s.lost()).toBe(5);
    expect(kafka.committed()).toStrictEqual([12]);
    // No read failed: the source moved on by itself (the ingester reports the loss, not as an error).
    expect(ingester.stats().errors).toBe(0);
    expect(errors.filter((e) => /Fetch|range of offsets/.test(e))).toStrictEqual([]);
  });

  it("reads on in every partition when one lost its head, counting only that one's removed messages", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 3);
    const events = seedEvents(60);
    await publishToFake(kafka, events);
    for (const p of [0, 1, 2]) kafka.commitOffset(p, 0);
    kafka.deleteRecords(1, 4);
    const s = await source();
    const ingester = createIngester({ source: s, store, batchSize: 16, retryDelayMs: 10 });
    await until(() => ingester.stats().inserted === 56, "every event not removed stored");
    await ingester.stop();
    expect(s.lost()).toBe(4);
    expect(storedIds(store).size).toBe(56);
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
  });

  it("counts nothing for a partition the group never committed on: it starts at the log start (a new group cannot tell)", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(8);
    await publishToFake(kafka, events);
    kafka.deleteRecords(0, 3);
    const s = await source();
    const ingester = createIngester({ source: s, store });
    await until(() => ingester.stats().inserted === 5, "the events after the log start stored");
    await ingester.stop();
    expect(storedIds(store)).toStrictEqual(ids(events.slice(3)));
    expect(s.lost()).toBe(0);
  });

  it("counts nothing on a normal run", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 2);
    const events = seedEvents(50);
    await publishToFake(kafka, events);
    const s = await source();
    const ingester = createIngester({ source: s, store, batchSize: 8 });
    await until(() => ingester.stats().inserted === events.length, "every event stored");
    await ingester.stop();
    expect(s.lost()).toBe(0);
  });

  it("counts nothing on a rewind after a failed insert, nor for the redelivered messages", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(20);
    await publishToFake(kafka, events);
    kafka.commitOffset(0, 0);
    let calls = 0;
    const flaky: IngestStore = {
      insert: (batch) =>
        calls++ === 1 ? Promise.reject(new Error("database restarting")) : store.insert(batch),
    };
    const s = await source();
    const ingester = createIngester({
      source: s,
      store: flaky,
      batchSize: 5,
      retryDelayMs: 10,
      onError: () => {},
    });
    await until(() => kafka.committed()[0] === 20, "every event committed");
    await ingester.stop();
    expect(storedIds(store)).toStrictEqual(ids(events));
    expect(s.lost()).toBe(0);
  });

  it("after a failed insert, counts exactly the messages removed before they were read again: not those stored meanwhile", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(20);
    await publishToFake(kafka, events);
    kafka.commitOffset(0, 0);
    let calls = 0;
    // Batch 0..4 stored and committed; batch 5..9 fails, and retention removes 0..11 meanwhile. Batch
    // 10..14, read ahead from the old stream, is stored (not committed: 5..9 are not).
    const flaky: IngestStore = {
      insert: (batch) => {
        if (calls++ !== 1) return store.insert(batch);
        kafka.deleteRecords(0, 12);
        return Promise.reject(new Error("database restarting"));
      },
    };
    const s = await source();
    const ingester = createIngester({
      source: s,
      store: flaky,
      batchSize: 5,
      retryDelayMs: 10,
      onError: () => {},
    });
    await until(() => kafka.committed()[0] === 20, "every event committed");
    await ingester.stop();
    expect(storedIds(store)).toStrictEqual(ids([...events.slice(0, 5), ...events.slice(10)]));
    expect(s.lost()).toBe(5);
  });

  it("counts a partition's removed messages once when the group moves it to another member", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 2);
    for (let p = 0; p < 2; p++) kafka.commitOffset(p, 0);
    const events = seedEvents(40);
    await publishToFake(kafka, events);
    kafka.deleteRecords(1, 6);
    const first = await source();
    const one = createIngester({ source: first, store, batchSize: 8, retryDelayMs: 10 });
    await until(() => kafka.committed()[1] === kafka.highWatermarks()[1], "partition 1 read to its end");
    expect(first.lost()).toBe(6);
    // A second member joins: partition 1 goes to it, from the committed offset (past the removed ones).
    const second = await source();
    const two = createIngester({ source: second, store, batchSize: 8, retryDelayMs: 10 });
    await publishToFake(kafka, seedEvents(60).slice(40));
    await until(
      () => kafka.committed().every((c, p) => c === kafka.highWatermarks()[p]),
      "every partition read to its end",
    );
    await Promise.all([one.stop(), two.stop()]);
    expect(first.lost() + second.lost()).toBe(6);
    expect(storedIds(store).size).toBe(60 - 6);
  });

  it("counts nothing when a rebalance came while it moved past the removed messages (the partition's next reader may have counted them)", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(10);
    await publishToFake(kafka, events);
    kafka.commitOffset(0, 0);
    kafka.deleteRecords(0, 4);
    kafka.beforeCommit = () => {
      kafka.beforeCommit = undefined;
      kafka.rebalance();
    };
    const s = await source();
    const ingester = createIngester({ source: s, store, retryDelayMs: 10, onError: () => {} });
    await until(() => ingester.stats().inserted === 6, "the events after the log start stored");
    await ingester.stop();
    expect(s.lost()).toBe(0);
    expect(storedIds(store)).toStrictEqual(ids(events.slice(4)));
  });

  it("reports a failure to ask Kafka for the log start and moves on once it answers", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    const events = seedEvents(10);
    await publishToFake(kafka, events);
    kafka.commitOffset(0, 2);
    kafka.deleteRecords(0, 6);
    kafka.failListOffsets = new Error("broker unreachable");
    const errors: string[] = [];
    const s = await source();
    const ingester = createIngester({
      source: s,
      store,
      retryDelayMs: 10,
      onError: (error) => errors.push(error.message),
    });
    await until(
      () => errors.includes(`reading topic "${TOPIC}" failed: broker unreachable`),
      "the failure reported",
    );
    expect(s.lost()).toBe(0);
    kafka.failListOffsets = undefined;
    await until(() => ingester.stats().inserted === 4, "the events after the log start stored");
    await ingester.stop();
    expect(s.lost()).toBe(4);
    expect(storedIds(store)).toStrictEqual(ids(events.slice(6)));
  });
});
