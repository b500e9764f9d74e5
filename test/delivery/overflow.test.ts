import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { sampleEvent } from "../helpers/events.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, eventSize, id, ids, numberedEvent, numberedEvents, tempDir } from "./helpers.js";

// Each test emits synchronously into a queue of a few events while the sink holds every write: the
// pump only runs between emits' turns, so which events fit is exact.

const emitters: DeliveryEmitter[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function create(sink: FakeSink, options: Partial<DeliveryEmitterOptions>): DeliveryEmitter {
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxQueueEvents: 4, ...options });
  emitters.push(emitter);
  return emitter;
}

function holdingSink(): FakeSink {
  const sink = createFakeSink();
  sink.mode = "hold";
  return sink;
}

/** Acknowledges held writes until the emitter counted `count` events delivered. */
async function drain(emitter: DeliveryEmitter, sink: FakeSink, count: number): Promise<void> {
  await until(
    () => {
      sink.ackHeld();
      return emitter.stats().delivered >= count;
    },
    { message: () => `delivered ${emitter.stats().delivered} of ${count}` },
  );
}

describe("overflow policy drop-newest", () => {
  it("drops the new events once the queue is full, counted by reason and kind", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { overflow: "drop-newest" });

    const outcomes = numberedEvents(10).map((event) => emitter.emit(event));
    await drain(emitter, sink, 4);

    expect(outcomes).toStrictEqual([...Array(4).fill("accepted"), ...Array(6).fill("dropped")]);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
    expect(emitter.stats()).toMatchObject({
      emitted: 4,
      accepted: 4,
      delivered: 4,
      failed: 0,
      dropped: { queue_full: 6 },
      droppedByKind: { "authz.decision": 6 },
    });
  });

  it("bounds the queue by bytes as well as by events", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { maxQueueEvents: 100, maxQueueBytes: Math.floor(2.5 * eventSize()) });

    const outcomes = numberedEvents(5).map((event) => emitter.emit(event));

    expect(outcomes).toStrictEqual(["accepted", "accepted", "dropped", "dropped", "dropped"]);
    expect(emitter.stats()).toMatchObject({ queueEvents: 2, queueBytes: 2 * eventSize() });
    await drain(emitter, sink, 2);
    expect(emitter.stats().dropped).toStrictEqual({ queue_full: 3 });
  });
});

describe("overflow policy drop-oldest", () => {
  it("drops the oldest queued events to make room, counted under their kind", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { overflow: "drop-oldest" });

    for (const event of numberedEvents(2, "authn", "n")) emitter.emit(event);
    const outcomes = numberedEvents(8).map((event) => emitter.emit(event));
    await drain(emitter, sink, 4);

    expect(outcomes).toStrictEqual(Array(8).fill("accepted"));
    expect(sink.receivedIds()).toStrictEqual(ids(5, 8));
    expect(emitter.stats()).toMatchObject({
      accepted: 10,
      delivered: 4,
      dropped: { queue_full: 6 },
      droppedByKind: { "authn.result": 2, "authz.decision": 4 },
      droppedByReasonAndKind: { queue_full: { "authn.result": 2, "authz.decision": 4 } },
    });
  });

  it.each(["park", "spool", "fail-rpc"] as const)(
    "never evicts an event of a kind whose policy keeps its events (%s): the new event is dropped instead",
    async (keeping) => {
      const sink = holdingSink();
      const { dir, remove } = tempDir("overflow");
      cleanups.push(remove);
      const spool = keeping === "spool" ? { spool: { path: join(dir, "spool.db") } } : {};
      const emitter = create(sink, {
        ...spool,
        maxBatchEvents: 1,
        overflow: { default: "drop-oldest", "resource.mutation": keeping },
      });
      emitter.emit(numberedEvent(1)); // taken as the batch being written: 3 more fit (maxQueueEvents 4)
      await until(() => sink.held.length === 1);
      const kept = numberedEvents(3, "resourceMutation", "m").map((event) => emitter.emit(event));
      const outcome = emitter.emit(numberedEvent(2));

      expect([kept, outcome]).toStrictEqual([Array(3).fill("accepted"), "dropped"]);
      await drain(emitter, sink, 4);
      expect(sink.receivedIds()).toStrictEqual([id(1), ...ids(1, 3, "m")]);
      expect(emitter.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "authz.decision": 1 } });
    },
  );

  it.each([
    ["a record summary", "recordSummary", "drop-oldest"],
    ["an event of a fail-rpc kind", "resourceMutation", "fail-rpc"],
  ] as const)(
    "evicts the oldest evictable event when %s is the oldest queued, which stays",
    async (_, kind, policy) => {
      const sink = holdingSink();
      const emitter = create(sink, { overflow: { default: "drop-oldest", "resource.mutation": policy } });

      emitter.emit(numberedEvent(1, kind, "k"));
      const outcomes = numberedEvents(7).map((event) => emitter.emit(event));
      await drain(emitter, sink, 4);

      expect(outcomes).toStrictEqual(Array(7).fill("accepted"));
      expect(sink.receivedIds()).toStrictEqual([id(1, "k"), ...ids(5, 7)]);
      expect(emitter.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "authz.decision": 4 } });
    },
  );

  it("never drops the batch being written: the new event is dropped instead", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { overflow: "drop-oldest", maxBatchEvents: 4 });

    for (const event of numberedEvents(4)) emitter.emit(event);
    await until(() => sink.held.length === 1);
    const outcome = emitter.emit(numberedEvent(5));

    expect(outcome).toBe("dropped");
    await drain(emitter, sink, 4);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
    expect(emitter.stats()).toMatchObject({ accepted: 4, dropped: { queue_full: 1 } });
  });
});

describe("overflow policy park", () => {
  it("parks events until there is room, drops them after park.timeoutMs and when the parked list is full", async () => {
    vi.useFakeTimers();
    const sink = holdingSink();
    const emitter = create(sink, {
      overflow: "park",
      maxQueueEvents: 2,
      maxBatchEvents: 2,
      park: { timeoutMs: 1000, maxParked: 3 },
    });

    const outcomes = numberedEvents(6).map((event) => emitter.emit(event));
    expect(outcomes).toStrictEqual([...Array(5).fill("accepted"), "dropped"]);
    expect(emitter.stats()).toMatchObject({ queueEvents: 2, parkedEvents: 3, dropped: { parked_full: 1 } });

    await vi.advanceTimersByTimeAsync(500);
    expect(sink.ackHeld()).toBe(1); // events 1-2: room for parked 3-4; 5 waits on
    await vi.advanceTimersByTimeAsync(1);
    expect(emitter.stats()).toMatchObject({ queueEvents: 2, parkedEvents: 1 });

    await vi.advanceTimersByTimeAsync(499); // event 5 has waited 1000 ms
    expect(emitter.stats()).toMatchObject({ parkedEvents: 0, dropped: { parked_full: 1, park_timeout: 1 } });
    expect(sink.ackHeld()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
    expect(emitter.stats()).toMatchObject({
      accepted: 5,
      delivered: 4,
      dropped: { parked_full: 1, park_timeout: 1 },
      droppedByKind: { "authz.decision": 2 },
    });
  });

  it("keeps parked events in order ahead of later parking events", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { overflow: "park", maxQueueEvents: 1, maxBatchEvents: 1 });

    for (const event of numberedEvents(3)) emitter.emit(event);
    await drain(emitter, sink, 3);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 3));
    expect(emitter.stats().dropped).toStrictEqual({});
  });
  it("never lets a checkpoint overtake parked events: it is refused while they wait", async () => {
    const sink = holdingSink();
    const checkpoint = numberedEvent(4, "checkpoint");
    const checkpointBytes = encodeEvent(checkpoint).length;
    // Room for two events and the checkpoint, not for the large third event, which parks.
    const emitter = create(sink, {
      overflow: "park",
      maxQueueBytes: 2 * eventSize() + checkpointBytes,
      maxEventBytes: 64 * 1024,
    });
    const large = sampleEvent({ kind: "authz", eventId: id(3), service: "s".repeat(2 * checkpointBytes) });

    const outcomes = [numberedEvent(1), numberedEvent(2), large, checkpoint].map((e) => emitter.emit(e));
    await drain(emitter, sink, 3);

    // Queued ahead of event 3, the checkpoint would reach the trail before an event it covers.
    expect(outcomes).toStrictEqual(["accepted", "accepted", "accepted", "dropped"]);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 3));
    expect(emitter.stats().droppedByReasonAndKind).toStrictEqual({ queue_full: { "chain.checkpoint": 1 } });
  });
});

describe("overflow policy fail-rpc", () => {
  it("refuses events with failed once the queue is full", async () => {
    const sink = holdingSink();
    const emitter = create(sink, { overflow: "fail-rpc" });

    const outcomes = numberedEvents(6).map((event) => emitter.emit(event));
    await drain(emitter, sink, 4);

    expect(outcomes).toStrictEqual([...Array(4).fill("accepted"), "failed", "failed"]);
    expect(emitter.stats()).toMatchObject({ accepted: 4, delivered: 4, failed: 2, dropped: {} });
  });
});

describe("overflow policy spool", () => {
  it("spools what does not fit and delivers everything in emit order", async () => {
    const { dir, remove } = tempDir("overflow");
    cleanups.push(remove);
    const sink = holdingSink();
    const emitter = create(sink, {
      overflow: "spool",
      maxQueueEvents: 2,
      spool: { path: `${dir}/spool.db` },
    });

    const outcomes = numberedEvents(5).map((event) => emitter.emit(event));
    expect(outcomes).toStrictEqual(Array(5).fill("accepted"));
    expect(emitter.stats()).toMatchObject({ queueEvents: 2, spoolEvents: 3, mode: "spool" });
    await drain(emitter, sink, 5);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
    expect(emitter.stats()).toMatchObject({
      accepted: 5,
      delivered: 5,
      spooled: 5,
      replayed: 5,
      dropped: {},
    });
  });

  it("drops with spool_full what the spool cannot take", async () => {
    const { dir, remove } = tempDir("overflow");
    cleanups.push(remove);
    const sink = holdingSink();
    const emitter = create(sink, {
      overflow: "spool",
      maxQueueEvents: 1,
      spool: { path: `${dir}/spool.db`, maxBytes: 3 * eventSize() },
    });

    const outcomes = numberedEvents(6).map((event) => emitter.emit(event));

    expect(outcomes).toStrictEqual([...Array(4).fill("accepted"), "dropped", "dropped"]);
    expect(emitter.stats()).toMatchObject({
      dropped: { spool_full: 2 },
      droppedByKind: { "authz.decision": 2 },
    });
    await drain(emitter, sink, 4);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 4));
  });
});

describe("per-kind policies", () => {
  it("applies the policy of each event's kind and the default to the others", async () => {
    const sink = holdingSink();
    const emitter = create(sink, {
      maxQueueEvents: 2,
      overflow: { default: "drop-newest", "authz.decision": "fail-rpc" },
    });

    for (const event of numberedEvents(2, "resourceMutation", "m")) emitter.emit(event);
    const authz = emitter.emit(numberedEvent(1));
    const tuple = emitter.emit(numberedEvent(1, "tupleChange", "t"));

    expect([authz, tuple]).toStrictEqual(["failed", "dropped"]);
    expect(emitter.stats()).toMatchObject({
      failed: 1,
      dropped: { queue_full: 1 },
      droppedByKind: { "tuple.change": 1 },
    });
  });
});

describe("overflow warnings", () => {
  it("reports the first drop of each reason at once, then at most once per interval with the count", async () => {
    vi.useFakeTimers();
    const { errors, onError } = errorCollector();
    const emitter = create(holdingSink(), { maxQueueEvents: 1, warnIntervalMs: 10_000, onError });

    for (const event of numberedEvents(4)) emitter.emit(event);
    emitter.emit(numberedEvent(1, "authz", "big"));
    expect(errors).toStrictEqual([
      new AuditEmitError("fake", "dropped 1 event (queue_full): the queue is full"),
    ]);

    await vi.advanceTimersByTimeAsync(10_000);
    emitter.emit(numberedEvent(1, "authz", "x"));

    expect(errors).toStrictEqual([
      new AuditEmitError("fake", "dropped 1 event (queue_full): the queue is full"),
      new AuditEmitError("fake", "dropped 4 events (queue_full): the queue is full"),
    ]);
    expect(emitter.stats().dropped).toStrictEqual({ queue_full: 5 });
    expect(id(1)).toBe("e-001");
  });
});
