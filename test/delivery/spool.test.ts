import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, eventSize, id, ids, numberedEvent, numberedEvents, tempDir } from "./helpers.js";

let dir: string;
let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("spool"));
  spoolPath = path.join(dir, "spool.db");
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

function create(sink: FakeSink, options: Partial<DeliveryEmitterOptions> = {}): DeliveryEmitter {
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    sleep: () => new Promise((resolve) => setTimeout(resolve, 1)),
    ...options,
    spool: { path: spoolPath, commitIntervalMs: 5, ...options.spool },
  });
  emitters.push(emitter);
  return emitter;
}

/** The rows of a spool file, read straight from SQLite. */
function spoolRows(file = spoolPath): { id: number; event_id: string; event_type: string; size: number }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT id, event_id, event_type, size FROM spool ORDER BY id").all() as {
      id: number;
      event_id: string;
      event_type: string;
      size: number;
    }[];
  } finally {
    db.close();
  }
}

/** Leaves `count` numbered events in the spool file: an emitter whose sink hangs is closed. */
async function leaveInSpool(count: number): Promise<void> {
  const sink = createFakeSink();
  sink.mode = "hold";
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
  for (const event of numberedEvents(count)) emitter.emit(event);
  const report = await emitter.close({ timeoutMs: 20 });
  expect(report).toMatchObject({ spooled: count, dropped: 0 });
}

describe("spool on a sink outage", () => {
  it("moves the queue to the spool once a batch spent its retry budget, then replays it in order", async () => {
    const sink = createFakeSink();
    sink.mode = "fail";
    const emitter = create(sink, { maxBatchEvents: 2, spool: { path: spoolPath, spoolAfterAttempts: 2 } });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => emitter.stats().spooled === 5);
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 5));
    expect(emitter.stats()).toMatchObject({ mode: "spool", spoolEvents: 5, queueEvents: 0, delivered: 0 });

    for (const event of numberedEvents(7).slice(5)) emitter.emit(event);
    sink.mode = "ack";
    await until(() => emitter.stats().delivered === 7);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 7));
    expect(spoolRows()).toStrictEqual([]);
    expect(emitter.stats()).toMatchObject({ mode: "direct", spoolEvents: 0, spoolBytes: 0, dropped: {} });
  });

  it("spools after spoolAfterMs of failures", async () => {
    const sink = createFakeSink();
    sink.mode = "fail";
    const emitter = create(sink, { spool: { path: spoolPath, spoolAfterMs: 30 } });

    emitter.emit(numberedEvent(1));
    await until(() => emitter.stats().spooled === 1);

    expect(sink.attempts.length).toBeGreaterThan(1);
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 1));
  });
});

describe("spool replay", () => {
  it("replays a spool left by an earlier emitter on start, deleting rows only once acknowledged", async () => {
    await leaveInSpool(5);
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxBatchEvents: 2 });

    await until(() => sink.held.length === 1);
    expect(sink.held[0]?.batch.map((e) => e.eventId)).toStrictEqual(ids(1, 2));
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 5));
    sink.ackHeld();
    await until(() => sink.held.length === 1);
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(3, 5));
    sink.mode = "ack";
    sink.ackHeld();
    await until(() => emitter.stats().delivered === 5);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
    expect(spoolRows()).toStrictEqual([]);
    expect(emitter.stats()).toMatchObject({ delivered: 5, replayed: 5, accepted: 0, mode: "direct" });
  });

  it("loses nothing when the sink fails mid-replay; only the failed batch arrives twice", async () => {
    await leaveInSpool(6);
    const sink = createFakeSink();
    const write = sink.write;
    let writes = 0;
    sink.write = (batch, options) => {
      writes++;
      sink.mode = writes === 2 ? "take-and-fail" : "ack";
      return write(batch, options);
    };
    const emitter = create(sink, { maxBatchEvents: 2 });

    await until(() => emitter.stats().delivered === 6);

    expect(sink.receivedIds()).toStrictEqual([...ids(1, 4), ...ids(3, 6)]);
    expect(spoolRows()).toStrictEqual([]);
    expect(emitter.stats()).toMatchObject({ delivered: 6, replayed: 6, retried: 1 });
  });

  it("drops and counts a spooled row that cannot be decoded, and delivers the others", async () => {
    await leaveInSpool(3);
    const db = new Database(spoolPath);
    db.prepare("UPDATE spool SET bytes = ? WHERE id = 2").run(Buffer.from([0xff, 0xff, 0xff]));
    db.close();
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    const emitter = create(sink, { onError });

    await until(() => emitter.stats().spoolEvents === 0 && emitter.stats().delivered === 2);

    expect(sink.receivedIds()).toStrictEqual([id(1), id(3)]);
    expect(emitter.stats()).toMatchObject({
      dropped: { spool_corrupt: 1 },
      droppedByKind: { "authz.decision": 1 },
    });
    expect(errors).toStrictEqual([
      new AuditEmitError("fake", "dropped 1 event (spool_corrupt): a spooled event could not be decoded"),
    ]);
    expect(spoolRows()).toStrictEqual([]);
  });

  it("keeps new events behind the spooled ones", async () => {
    await leaveInSpool(3);
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);

    for (const event of numberedEvents(5, "authz", "n")) emitter.emit(event);
    await until(() => {
      sink.ackHeld();
      return emitter.stats().delivered === 8;
    });

    expect(sink.receivedIds()).toStrictEqual([...ids(1, 3), ...ids(1, 5, "n")]);
  });
});

describe("close with a spool", () => {
  it("commits what it could not deliver within the timeout, in order, and reports it as pending", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxBatchEvents: 2 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => sink.held.length === 1);
    const report = await emitter.close({ timeoutMs: 30 });

    expect(report).toStrictEqual({
      ok: false,
      results: [{ emitter: "fake", status: "timeout", pending: 5 }],
      pending: 5,
      delivered: 0,
      spooled: 5,
      dropped: 0,
    });
    expect(spoolRows()).toStrictEqual(
      ids(1, 5).map((eventId, i) => ({
        id: i + 1,
        event_id: eventId,
        event_type: "authz.decision",
        size: eventSize(),
      })),
    );
  });

  it("drops and counts what does not fit in the spool", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, {
      maxBatchEvents: 1,
      spool: { path: spoolPath, maxBytes: 3 * eventSize() },
    });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => sink.held.length === 1);
    const report = await emitter.close({ timeoutMs: 30 });

    expect(report).toMatchObject({ ok: false, pending: 3, delivered: 0, spooled: 3, dropped: 2 });
    expect(emitter.stats().dropped).toStrictEqual({ spool_full: 2 });
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 3));
  });
});

describe("write-ahead mode", () => {
  it("commits every event to the spool before delivering it, and deletes it once acknowledged", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, writeAhead: true } });

    for (const event of numberedEvents(3)) emitter.emit(event);
    await until(() => sink.held.length === 1);

    expect(sink.held[0]?.batch.map((e) => e.eventId)).toStrictEqual(ids(1, 3));
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 3));
    expect(emitter.stats()).toMatchObject({ spooled: 3, mode: "spool" });
    sink.ackHeld();
    await until(() => emitter.stats().delivered === 3);
    expect(spoolRows()).toStrictEqual([]);
    expect(emitter.stats()).toMatchObject({ mode: "spool", spoolEvents: 0, replayed: 3 });
  });

  it("writes all events of one commit interval together", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 100 } });

    for (const event of numberedEvents(4)) emitter.emit(event);
    expect(emitter.stats()).toMatchObject({ spooled: 0, queueEvents: 4 });
    await until(() => emitter.stats().spooled > 0);

    expect(emitter.stats()).toMatchObject({ spooled: 4, queueEvents: 0 });
    await until(() => sink.held.length === 1);
    expect(sink.held[0]?.batch.length).toBe(4);
  });

  it("commits at once, inside emit, when maxUncommittedEvents accepted events wait for a commit", () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, {
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 60_000, maxUncommittedEvents: 10 },
    });

    for (const event of numberedEvents(25)) emitter.emit(event);

    // No await: the commits happened synchronously, at the 10th and the 20th event.
    expect(emitter.stats()).toMatchObject({ spooled: 20, spoolEvents: 20, queueEvents: 5 });
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 20));
  });

  it("commits inside emit when the next event would not fit maxQueueEvents, instead of dropping it", () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, {
      maxQueueEvents: 4,
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 60_000 },
    });

    const outcomes = numberedEvents(10).map((event) => emitter.emit(event));

    // The 5th and the 9th event found the queue full: the four before each went to the spool.
    expect(outcomes).toStrictEqual(Array(10).fill("accepted"));
    expect(emitter.stats()).toMatchObject({ dropped: {}, spooled: 8, queueEvents: 2 });
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 8));
  });

  it("commits inside emit when the next event would not fit maxQueueBytes, long before maxUncommittedEvents", () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, {
      maxQueueBytes: 3 * eventSize(),
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 60_000 },
    });

    const outcomes = numberedEvents(7).map((event) => emitter.emit(event));

    expect(outcomes).toStrictEqual(Array(7).fill("accepted"));
    expect(emitter.stats()).toMatchObject({ dropped: {}, spooled: 6, queueEvents: 1 });
  });

  it("still drops when the spool cannot take the queued events", () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, {
      maxQueueEvents: 2,
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 60_000, maxBytes: 3 * eventSize() },
    });

    const outcomes = numberedEvents(8).map((event) => emitter.emit(event));

    // Events 1-2 then 3 went to the spool (full at 3), 4-5 stay queued, the rest is dropped.
    expect(outcomes).toStrictEqual([...Array(5).fill("accepted"), ...Array(3).fill("dropped")]);
    expect(emitter.stats()).toMatchObject({ dropped: { queue_full: 3 }, spooled: 3, queueEvents: 2 });
  });

  it("flush commits every accepted event at once, and reports those the sink has not taken as pending", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 60_000 } });

    for (const event of numberedEvents(3)) emitter.emit(event);

    expect(await emitter.flush({ timeoutMs: 50 })).toStrictEqual({
      ok: false,
      results: [{ emitter: "fake", status: "timeout", pending: 3 }],
      pending: 3,
    });
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 3));
    sink.mode = "ack";
    sink.ackHeld();
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(spoolRows()).toStrictEqual([]);
  });
});

describe("flush and close with rows in the spool", () => {
  it("flush waits for a spool left by an earlier emitter to be replayed", async () => {
    await leaveInSpool(4);
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink);

    expect(await emitter.flush({ timeoutMs: 30 })).toMatchObject({ ok: false, pending: 4 });
    sink.mode = "ack";
    sink.ackHeld();
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
  });

  it("close reports the rows a sink outage left in the spool as pending, not ok", async () => {
    const sink = createFakeSink();
    sink.mode = "fail";
    const emitter = create(sink, { spool: { path: spoolPath, spoolAfterAttempts: 1 } });

    for (const event of numberedEvents(6)) emitter.emit(event);
    await until(() => emitter.stats().spooled === 6);
    const report = await emitter.close({ timeoutMs: 30 });

    expect(report).toMatchObject({ ok: false, pending: 6, dropped: 0 });
    expect(report.results).toMatchObject([{ status: "timeout", pending: 6 }]);
    expect(spoolRows().map((row) => row.event_id)).toStrictEqual(ids(1, 6));
  });
});
