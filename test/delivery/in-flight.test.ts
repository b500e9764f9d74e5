/**
 * Several batches in flight (`maxInFlightBatches`), and sinks that take the queued bytes
 * (`writeEncoded`).
 */
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { sampleEvents } from "../helpers/events.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { eventSize, ids, numberedEvents, settle, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("in-flight");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** Batches of 2, up to 3 of them in flight, retry waits of 1 ms. */
function create(sink: FakeSink, options: Partial<DeliveryEmitterOptions> = {}): DeliveryEmitter {
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    maxBatchEvents: 2,
    maxInFlightBatches: 3,
    sleep: () => new Promise((resolve) => setTimeout(resolve, 1)),
    random: () => 0.5,
    ...options,
  });
  emitters.push(emitter);
  return emitter;
}

/** The ids of each batch handed to the sink, in the order of the calls (retries included). */
const attemptIds = (sink: FakeSink) => sink.attempts.map((batch) => batch.map((event) => event.eventId));
const heldIds = (sink: FakeSink) => sink.held.map((write) => write.batch.map((event) => event.eventId));

/** Settles the held write at `index` (in the order the writes arrived). */
function ackHeld(sink: FakeSink, index: number): void {
  const [write] = sink.held.splice(index, 1);
  if (write === undefined) throw new Error(`no held write at ${index}`);
  write.resolve();
}

function failHeld(sink: FakeSink, index: number): void {
  const [write] = sink.held.splice(index, 1);
  if (write === undefined) throw new Error(`no held write at ${index}`);
  write.reject(new Error("no ack"));
}

function spoolIds(): string[] {
  const db = new Database(spoolPath, { readonly: true });
  try {
    const rows = db.prepare("SELECT event_id FROM spool ORDER BY id").all() as { event_id: string }[];
    return rows.map((row) => row.event_id);
  } finally {
    db.close();
  }
}

describe("maxInFlightBatches", () => {
  it("hands up to that many batches to the sink without waiting, in sequence order", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);

    for (const event of numberedEvents(10)) emitter.emit(event);
    await until(() => sink.held.length === 3);
    await settle();

    expect(heldIds(sink)).toStrictEqual([ids(1, 2), ids(3, 4), ids(5, 6)]);
    expect(emitter.stats()).toMatchObject({ queueEvents: 10, queueBytes: 10 * eventSize(), delivered: 0 });
  });

  it("lets a batch acknowledged before an earlier one leave the queue at once, and flush wait for both", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);
    for (const event of numberedEvents(6)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    ackHeld(sink, 1);
    await until(() => emitter.stats().delivered === 2);
    let flushed = false;
    const flush = emitter.flush({ timeoutMs: 5000 }).then((report) => {
      flushed = true;
      return report;
    });
    ackHeld(sink, 1);
    await until(() => emitter.stats().delivered === 4);
    await settle();

    expect(emitter.stats()).toMatchObject({ queueEvents: 2, queueBytes: 2 * eventSize() });
    expect(flushed).toBe(false);
    ackHeld(sink, 0);
    expect(await flush).toStrictEqual({
      ok: true,
      results: [{ emitter: "fake", status: "ok", pending: 0 }],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([...ids(3, 4), ...ids(5, 6), ...ids(1, 2)]);
    expect(emitter.stats()).toMatchObject({ delivered: 6, queueEvents: 0, retried: 0 });
  });

  it("starts no batch while one is failing and retries failed batches one at a time, oldest failure first", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);
    for (const event of numberedEvents(10)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    failHeld(sink, 0); // batch 1 fails and is retried after its backoff
    await until(() => sink.held.length === 3);
    failHeld(sink, 0); // batches 2 and 3 fail while batch 1 is retried: they wait for their turn
    failHeld(sink, 0);
    await settle(20);
    expect(heldIds(sink)).toStrictEqual([ids(1, 2)]);

    ackHeld(sink, 0);
    await until(() => sink.held.length === 1);
    expect(heldIds(sink)).toStrictEqual([ids(3, 4)]);
    ackHeld(sink, 0);
    await until(() => sink.held.length === 1);
    expect(heldIds(sink)).toStrictEqual([ids(5, 6)]);
    ackHeld(sink, 0);
    // Nothing is failing any more: the window opens again.
    await until(() => sink.held.length === 2);
    sink.ackHeld();
    await until(() => emitter.stats().delivered === 10);

    expect(attemptIds(sink)).toStrictEqual([
      ids(1, 2),
      ids(3, 4),
      ids(5, 6),
      ids(1, 2),
      ids(3, 4),
      ids(5, 6),
      ids(7, 8),
      ids(9, 10),
    ]);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 10));
    expect(emitter.stats()).toMatchObject({ accepted: 10, delivered: 10, retried: 3, dropped: {} });
  });

  it("moves every failed batch in flight, then the queue, to the spool and replays it in sequence order", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, commitIntervalMs: 5, spoolAfterAttempts: 1 } });
    for (const event of numberedEvents(10)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    sink.mode = "fail";
    sink.failHeld();
    await until(() => emitter.stats().spooled === 10);
    expect(spoolIds()).toStrictEqual(ids(1, 10));
    expect(emitter.stats()).toMatchObject({ mode: "spool", queueEvents: 0, spoolEvents: 10, delivered: 0 });

    sink.mode = "ack";
    await until(() => emitter.stats().delivered === 10);
    await until(() => spoolIds().length === 0);
    const replayed = sink.received.flat().map((event) => event.eventId);
    expect(replayed).toStrictEqual(ids(1, 10));
    expect(emitter.stats()).toMatchObject({ delivered: 10, replayed: 10, spoolEvents: 0, dropped: {} });
  });

  it("replays a spool with several batches in flight, handing each row to the sink once", async () => {
    const first = createFakeSink();
    first.mode = "hold";
    const leaving = create(first, { spool: { path: spoolPath, commitIntervalMs: 5 } });
    for (const event of numberedEvents(9)) leaving.emit(event);
    expect(await leaving.close({ timeoutMs: 20 })).toMatchObject({ spooled: 9, dropped: 0 });

    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, commitIntervalMs: 5 } });
    await until(() => sink.held.length === 3);
    await settle();
    expect(heldIds(sink)).toStrictEqual([ids(1, 2), ids(3, 4), ids(5, 6)]);

    ackHeld(sink, 2);
    await until(() => sink.held.length === 3);
    expect(heldIds(sink)).toStrictEqual([ids(1, 2), ids(3, 4), ids(7, 8)]);
    sink.mode = "ack";
    sink.ackHeld();
    await until(() => emitter.stats().delivered === 9);

    expect(attemptIds(sink).flat().sort()).toStrictEqual(ids(1, 9));
    expect(spoolIds()).toStrictEqual([]);
    expect(emitter.stats()).toMatchObject({ delivered: 9, replayed: 9, spoolEvents: 0, mode: "direct" });
  });

  it("on close, aborts every write in flight and spools those batches with the queue", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, commitIntervalMs: 5 } });
    for (const event of numberedEvents(9)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    const report = await emitter.close({ timeoutMs: 20 });

    expect(report).toMatchObject({ delivered: 0, spooled: 9, dropped: 0 });
    expect(sink.held.map((write) => write.signal?.aborted)).toStrictEqual([true, true, true]);
    expect(spoolIds()).toStrictEqual(ids(1, 9));
  });

  it("without a spool, close drops and counts what was in flight and queued", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);
    for (const event of numberedEvents(9)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    const report = await emitter.close({ timeoutMs: 20 });

    expect(report).toMatchObject({ ok: false, delivered: 0, spooled: 0, dropped: 9 });
    expect(emitter.stats()).toMatchObject({ dropped: { close_timeout: 9 }, queueEvents: 0 });
  });

  it('"drop-oldest" never drops an event of a batch in flight', async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxQueueEvents: 6, overflow: "drop-oldest" });
    for (const event of numberedEvents(6)) emitter.emit(event);
    await until(() => sink.held.length === 3);

    expect(emitter.emit(numberedEvents(7)[6] ?? numberedEvents(1)[0])).toBe("dropped");
    expect(emitter.stats()).toMatchObject({ dropped: { queue_full: 1 }, queueEvents: 6 });
    sink.ackHeld();
    await until(() => emitter.stats().delivered === 6);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 6));
  });
});

describe("writeEncoded", () => {
  it("gets each event as the bytes encodeEvent writes, the event decoded on demand, and write is not called", async () => {
    const sink = createFakeSink({ encoded: true });
    const emitter = create(sink, { maxBatchEvents: 512 });
    const events = sampleEvents();

    for (const event of events) emitter.emit(event);
    await emitter.flush();

    const [batch] = sink.encodedAttempts;
    expect(sink.encodedAttempts).toHaveLength(1);
    expect(batch?.map((encoded) => encoded.bytes)).toStrictEqual(events.map(encodeEvent));
    expect(batch?.map((encoded) => encoded.event)).toStrictEqual(events);
    expect(sink.received.flat()).toStrictEqual(events);
  });

  it("gets the same bytes again when a batch is retried, and spooled rows on replay", async () => {
    const sink = createFakeSink({ encoded: true });
    sink.failures = 1;
    // One batch at a time, so the attempts come in a fixed order.
    const emitter = create(sink, {
      maxInFlightBatches: 1,
      spool: { path: spoolPath, commitIntervalMs: 5, writeAhead: true },
    });
    const events = numberedEvents(3);

    for (const event of events) emitter.emit(event);
    await until(() => emitter.stats().delivered === 3);

    const bytes = sink.encodedAttempts.map((batch) => batch.map((encoded) => [...encoded.bytes]));
    expect(bytes).toStrictEqual([
      events.slice(0, 2).map((event) => [...encodeEvent(event)]),
      events.slice(0, 2).map((event) => [...encodeEvent(event)]),
      events.slice(2).map((event) => [...encodeEvent(event)]),
    ]);
    expect(sink.received.flat()).toStrictEqual(events);
    expect(emitter.stats()).toMatchObject({ delivered: 3, replayed: 3, retried: 1 });
  });
});
