import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { DETAIL_KINDS, sampleEvent, sampleEvents } from "../helpers/events.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, eventSize, ids, numberedEvent, numberedEvents, settle } from "./helpers.js";

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
});

function create(sink: FakeSink, options: Partial<DeliveryEmitterOptions> = {}): DeliveryEmitter {
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, ...options });
  emitters.push(emitter);
  return emitter;
}

describe("createDeliveryEmitter", () => {
  it("delivers every event, whole and in order, and counts it", async () => {
    const sink = createFakeSink();
    const emitter = create(sink);
    const events = sampleEvents();

    for (const event of events) expect(emitter.emit(event)).toBe("accepted");
    await sink.waitForReceived(4);

    expect(sink.received.flat()).toStrictEqual(events);
    expect(emitter.stats()).toStrictEqual({
      name: "fake",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
      accepted: DETAIL_KINDS.length,
      droppedAfterAccept: 0,
      delivered: DETAIL_KINDS.length,
      replayed: 0,
      retried: 0,
      spooled: 0,
      droppedByKind: {},
      droppedByReasonAndKind: {},
      queueEvents: 0,
      queueBytes: 0,
      parkedEvents: 0,
      spoolEvents: 0,
      spoolBytes: 0,
      spoolUndeleted: 0,
      mode: "direct",
      spoolRecovery: { movedAside: 0, recovered: 0, lost: 0, uncounted: 0 },
    });
  });

  it("delivers what the event was at emit time, not later changes to the object", async () => {
    const sink = createFakeSink();
    const emitter = create(sink, { flushIntervalMs: 10_000 });
    const [event] = numberedEvents(1);
    if (event === undefined) throw new Error("no event");

    emitter.emit(event);
    event.operation = "/changed/Later";
    await emitter.flush();

    expect(sink.received.flat()[0]?.operation).toBe("/acme.projects.v1.ProjectService/UpdateProject");
  });

  it("counts queue depth and bytes, including the batch being written", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxBatchEvents: 2 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => sink.held.length === 1);

    expect(sink.held[0]?.batch.map((e) => e.eventId)).toStrictEqual(ids(1, 2));
    expect(emitter.stats()).toMatchObject({ queueEvents: 5, queueBytes: 5 * eventSize(), delivered: 0 });
    sink.ackHeld();
    await until(() => sink.held.length === 1);
    expect(emitter.stats()).toMatchObject({ queueEvents: 3, queueBytes: 3 * eventSize(), delivered: 2 });
  });

  it("names itself after the sink unless given a name", () => {
    expect(create(createFakeSink({ name: "kafka" })).name).toBe("kafka");
    expect(create(createFakeSink(), { name: "audit" }).name).toBe("audit");
  });
});

describe("batching", () => {
  it("writes full batches at once and the rest after flushIntervalMs", async () => {
    const sink = createFakeSink();
    const emitter = create(sink, { maxBatchEvents: 3, flushIntervalMs: 60_000 });

    for (const event of numberedEvents(7)) emitter.emit(event);
    await sink.waitForReceived(6);
    await settle();

    expect(sink.attempts.map((batch) => batch.length)).toStrictEqual([3, 3]);
    expect((await emitter.flush()).ok).toBe(true);
    expect(sink.attempts.map((batch) => batch.map((e) => e.eventId))).toStrictEqual([
      ids(1, 3),
      ids(4, 6),
      ids(7, 7),
    ]);
  });

  it("cuts batches at maxBatchBytes", async () => {
    const sink = createFakeSink();
    const emitter = create(sink, { maxBatchBytes: 2 * eventSize() + 1, flushIntervalMs: 60_000 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await emitter.flush();

    expect(sink.attempts.map((batch) => batch.length)).toStrictEqual([2, 2, 1]);
  });

  it("writes a batch that is not full once flushIntervalMs has passed since it started filling", async () => {
    vi.useFakeTimers();
    const sink = createFakeSink();
    const emitter = create(sink, { maxBatchEvents: 10, flushIntervalMs: 1000 });

    emitter.emit(numberedEvent(1));
    await vi.advanceTimersByTimeAsync(600);
    for (const event of numberedEvents(3).slice(1)) emitter.emit(event);
    await vi.advanceTimersByTimeAsync(399);
    expect(sink.attempts).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(1);
    expect(sink.attempts.map((batch) => batch.map((e) => e.eventId))).toStrictEqual([ids(1, 3)]);
  });
});

describe("events larger than the limit", () => {
  it("refuses events larger than the sink's maxEventBytes at emit, counted and never written", async () => {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink({ maxEventBytes: eventSize() - 1 });
    const emitter = create(sink, { onError });

    expect(emitter.emit(numberedEvent(1))).toBe("dropped");
    await emitter.flush();

    expect(sink.attempts).toHaveLength(0);
    expect(emitter.stats()).toMatchObject({
      emitted: 0,
      accepted: 0,
      dropped: { too_large: 1 },
      droppedByKind: { "authz.decision": 1 },
    });
    expect(errors).toStrictEqual([
      new AuditEmitError(
        "fake",
        "dropped 1 event (too_large): larger than maxEventBytes or than the sink takes",
      ),
    ]);
  });

  it("uses the smaller of maxEventBytes and the sink's limit", () => {
    const large = sampleEvent({ kind: "authz", eventId: "large", service: "s".repeat(1024) });
    const size = encodeEvent(large).length;
    const emitter = create(createFakeSink({ maxEventBytes: size + 100 }), { maxEventBytes: size - 1 });

    expect(emitter.emit(large)).toBe("dropped");
    expect(emitter.stats().dropped).toStrictEqual({ too_large: 1 });
  });

  it("refuses a maxEventBytes below 1 KiB, which would drop every event", () => {
    expect(() => create(createFakeSink(), { maxEventBytes: 1 })).toThrow(
      new AuditConfigError("delivery emitter: maxEventBytes must be at least 1024 (1 KiB), got 1"),
    );
    expect(() => create(createFakeSink(), { maxEventBytes: 1024 })).not.toThrow();
  });

  it("accepts an event exactly at the limit", async () => {
    const sink = createFakeSink({ maxEventBytes: eventSize() });
    const emitter = create(sink);

    expect(emitter.emit(numberedEvent(1))).toBe("accepted");
    await sink.waitForReceived(1);
  });
});

describe("flush", () => {
  it("resolves once everything accepted before it is delivered", async () => {
    const sink = createFakeSink();
    sink.delayMs = 5;
    const emitter = create(sink, { maxBatchEvents: 2, flushIntervalMs: 60_000 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    const report = await emitter.flush();

    expect(report).toStrictEqual({
      ok: true,
      results: [{ emitter: "fake", status: "ok", pending: 0 }],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
  });

  it("reports a timeout when the sink hangs, with the number of events still pending", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxBatchEvents: 2 });

    for (const event of numberedEvents(3)) emitter.emit(event);
    await until(() => sink.held.length === 1);
    const report = emitter.flush({ timeoutMs: 30 });
    for (const event of numberedEvents(2, "authz", "n")) emitter.emit(event); // after the call: not counted

    expect(await report).toStrictEqual({
      ok: false,
      results: [{ emitter: "fake", status: "timeout", pending: 3 }],
      pending: 3,
    });
  });

  it("reports the sink's error when the sink keeps failing", async () => {
    const sink = createFakeSink();
    sink.mode = "fail";
    const emitter = create(sink, { retry: { initialDelayMs: 1, maxDelayMs: 1 } });

    emitter.emit(numberedEvent(1));

    expect(await emitter.flush({ timeoutMs: 30 })).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "fake",
          status: "error",
          error: new AuditEmitError("fake", "flush did not finish within 30 ms: the sink is failing", {
            cause: sink.error,
          }),
          pending: 1,
        },
      ],
      pending: 1,
    });
  });

  it("resolves at once when nothing is pending", async () => {
    const emitter = create(createFakeSink());
    expect((await emitter.flush({ timeoutMs: 1 })).ok).toBe(true);
  });
});

describe("close without a spool", () => {
  it("delivers what is queued, closes the sink and reports the counts", async () => {
    const sink = createFakeSink();
    const emitter = create(sink, { flushIntervalMs: 60_000 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    const report = await emitter.close();

    expect(report).toStrictEqual({
      ok: true,
      results: [{ emitter: "fake", status: "ok", pending: 0 }],
      pending: 0,
      delivered: 5,
      spooled: 0,
      dropped: 0,
    });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
    expect(sink.closed).toBe(1);
  });

  it("drops and counts exactly what it could not deliver within the timeout", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = create(sink, { maxBatchEvents: 2 });

    for (const event of numberedEvents(3)) emitter.emit(event);
    for (const event of numberedEvents(2, "authn", "n")) emitter.emit(event);
    await until(() => sink.held.length === 1);
    const report = await emitter.close({ timeoutMs: 30 });

    expect(report).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "fake",
          status: "timeout",
          error: new AuditEmitError("fake", "close ran out of time, dropped 5 events (close_timeout 5)"),
          pending: 0,
        },
      ],
      pending: 0,
      delivered: 0,
      spooled: 0,
      dropped: 5,
    });
    expect(sink.held[0]?.signal?.aborted).toBe(true);
    expect(sink.closed).toBe(1);
    expect(emitter.stats()).toMatchObject({
      accepted: 5,
      delivered: 0,
      dropped: { close_timeout: 5 },
      droppedByKind: { "authz.decision": 3, "authn.result": 2 },
      queueEvents: 0,
      queueBytes: 0,
    });
  });

  it("drops and counts events emitted after close, without a warning", async () => {
    const { errors, onError } = errorCollector();
    const emitter = create(createFakeSink(), { onError });
    await emitter.close();

    expect(emitter.emit(numberedEvent(1))).toBe("dropped");
    expect(emitter.stats()).toMatchObject({ dropped: { closed: 1 }, droppedByKind: { "authz.decision": 1 } });
    expect(errors).toStrictEqual([]);
  });

  it("returns the same report when called twice", async () => {
    const emitter = create(createFakeSink());
    const first = emitter.close();
    expect(emitter.close()).toBe(first);
    expect((await first).ok).toBe(true);
  });

  it("reports a sink whose close fails", async () => {
    const sink = createFakeSink();
    sink.close = () => Promise.reject(new Error("close exploded"));
    const emitter = create(sink);

    expect(await emitter.close()).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "fake",
          status: "error",
          error: new AuditEmitError("fake", "sink close failed", { cause: new Error("close exploded") }),
          pending: 0,
        },
      ],
      pending: 0,
      delivered: 0,
      spooled: 0,
      dropped: 0,
    });
  });
});

describe("options", () => {
  const sink = createFakeSink();
  const cases: [string, Partial<DeliveryEmitterOptions>, string][] = [
    ["maxQueueEvents", { maxQueueEvents: 0 }, "maxQueueEvents must be a positive integer, got 0"],
    ["maxQueueBytes", { maxQueueBytes: 1.5 }, "maxQueueBytes must be a positive integer, got 1.5"],
    [
      "flushIntervalMs",
      { flushIntervalMs: -1 },
      "flushIntervalMs must be a number of ms from 0 to 2147483647 (what a timer holds), got -1",
    ],
    [
      "maxInFlightBatches",
      { maxInFlightBatches: 2.5 },
      "maxInFlightBatches must be a positive integer, got 2.5",
    ],
    [
      "maxInFlightBatches as a string",
      { maxInFlightBatches: "4" as unknown as number },
      'maxInFlightBatches must be a positive integer, got "4"',
    ],
    ["retry.multiplier", { retry: { multiplier: 0.5 } }, "retry.multiplier must be a number ≥ 1, got 0.5"],
    [
      "retry.maxDelayMs",
      { retry: { initialDelayMs: 10, maxDelayMs: 5 } },
      "retry.maxDelayMs must not be below retry.initialDelayMs",
    ],
    [
      "retry.jitter",
      { retry: { jitter: "none" as "full" } },
      'retry.jitter must be "full" or "decorrelated", got none',
    ],
    [
      "an unknown policy",
      { overflow: "wait" as "park" },
      "overflow must be one of drop-newest, drop-oldest, park, spool, fail-rpc, got wait",
    ],
    [
      "an unknown kind",
      { overflow: { "authz.check": "park" } as Record<string, "park"> },
      "overflow.authz.check: unknown event kind; known kinds: authn.result, authz.decision, tuple.change, resource.mutation, resource.access, chain.checkpoint, record.summary, default",
    ],
    [
      "spool without a spool",
      { overflow: { "authz.decision": "spool" } },
      'overflow.authz.decision is "spool" but no `spool` is configured',
    ],
    ["spool.path", { spool: { path: "" } }, 'spool.path must be a file path, got ""'],
    ["spool.path, blank", { spool: { path: " " } }, 'spool.path must be a file path, got " "'],
    ["park.maxParked", { park: { maxParked: 0 } }, "park.maxParked must be a positive integer, got 0"],
    [
      'the policy "block", now "park"',
      { overflow: "block" as "park" },
      'overflow is "block", which is now called "park"; emit never waits: the policy parks events until there is room',
    ],
    [
      'the policy "block" of a kind, now "park"',
      { overflow: { "authn.result": "block" as "park" } },
      'overflow.authn.result is "block", which is now called "park"; emit never waits: the policy parks events until there is room',
    ],
    [
      "the option block, now park",
      { block: { maxParked: 10 } } as Partial<DeliveryEmitterOptions>,
      '`block` is now `park` (the "park" overflow policy\'s limits); emit never waits: the policy parks events until there is room',
    ],
  ];
  it.each(cases)("throws an AuditConfigError naming %s", (_, options, message) => {
    expect(() => createDeliveryEmitter({ sink, ...options })).toThrow(
      new AuditConfigError(`delivery emitter: ${message}`),
    );
  });

  it("throws without a sink", () => {
    expect(() => createDeliveryEmitter({} as DeliveryEmitterOptions)).toThrow(
      new AuditConfigError(
        "delivery emitter: `sink` must be an EventSink (an object with a write(batch) method)",
      ),
    );
  });

  it("clamps a batch larger than the queue, and says so once", async () => {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    const emitter = create(sink, { maxQueueEvents: 2, maxBatchEvents: 5, onError });

    for (const event of numberedEvents(2)) emitter.emit(event);
    await sink.waitForReceived(2);

    expect(errors).toStrictEqual([
      new AuditConfigError("delivery emitter: maxBatchEvents 5 exceeds maxQueueEvents; using 2"),
    ]);
  });
});
