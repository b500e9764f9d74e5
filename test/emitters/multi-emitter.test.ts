import { describe, expect, it, vi } from "vitest";
import type { EmitOutcome, Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter, type MultiEmitterOptions } from "../../src/emitters/multi-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import {
  DETAIL_KINDS,
  hangingEmitter,
  recordingEmitter,
  rejectingEmitter,
  sampleEvent,
  sampleEvents,
  throwingEmitter,
} from "../helpers/events.js";

/** Collects what an emitter reports through onError. */
function errorSink(): { errors: Error[]; options: { onError: (error: Error) => void } } {
  const errors: Error[] = [];
  return { errors, options: { onError: (error) => errors.push(error) } };
}

/**
 * Runs `start` on a fake clock; checks that what it returns settles when the clock reaches `ms`, not
 * a millisecond before; resolves to its value.
 */
async function settlesAt<T>(ms: number, start: () => Promise<T>): Promise<T> {
  vi.useFakeTimers();
  try {
    let settled = false;
    const running = start().finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(settled, `settled before ${ms} ms`).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled, `not settled at ${ms} ms`).toBe(true);
    return await running;
  } finally {
    vi.useRealTimers();
  }
}

/** A real emitter that drops every event: a closed noop emitter. */
async function droppingEmitter(name: string): Promise<Emitter> {
  const emitter = createNoopEmitter({ name });
  await emitter.close();
  return emitter;
}

describe("createMultiEmitter", () => {
  it("hands every event to every sink and counts it once", () => {
    const first = createMemoryEmitter({ name: "first" });
    const second = createMemoryEmitter({ name: "second" });
    const multi = createMultiEmitter([first, second]);
    const events = sampleEvents();

    for (const event of events) expect(multi.emit(event)).toBe("accepted");

    expect(first.events).toStrictEqual(events);
    expect(second.events).toStrictEqual(events);
    expect(multi.stats()).toStrictEqual({
      name: "multi",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
      sinks: [
        { name: "first", emitted: DETAIL_KINDS.length, dropped: {}, failed: 0 },
        { name: "second", emitted: DETAIL_KINDS.length, dropped: {}, failed: 0 },
      ],
    });
  });

  it("keeps delivering to the other sinks when one sink's emit throws", () => {
    const { errors, options } = errorSink();
    const healthy = createMemoryEmitter({ name: "healthy" });
    const multi = createMultiEmitter([throwingEmitter("thrower"), healthy], options);
    const event = sampleEvent({ kind: "authn" });

    expect(multi.emit(event)).toBe("failed");

    expect(healthy.events).toStrictEqual([event]);
    expect(errors).toStrictEqual([
      new AuditEmitError("thrower", "emit threw", { cause: new Error("sink exploded") }),
    ]);
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    expect(multi.stats()).toStrictEqual({
      name: "multi",
      emitted: 0,
      dropped: {},
      failed: 1,
      sinks: [
        { name: "thrower", emitted: 0, dropped: {}, failed: 0 },
        { name: "healthy", emitted: 1, dropped: {}, failed: 0 },
      ],
    });
  });

  it("turns a thrown non-Error into an Error cause", () => {
    const { errors, options } = errorSink();
    const thrower: Emitter = {
      ...throwingEmitter("thrower"),
      emit() {
        throw "a string";
      },
    };
    const multi = createMultiEmitter([thrower], options);

    expect(multi.emit(sampleEvent())).toBe("failed");

    expect(errors).toStrictEqual([
      new AuditEmitError("thrower", "emit threw", { cause: new Error("a string") }),
    ]);
  });

  it("keeps working when its onError hook throws", () => {
    const healthy = createMemoryEmitter();
    const multi = createMultiEmitter([throwingEmitter(), healthy], {
      onError: () => {
        throw new Error("hook exploded");
      },
    });

    expect(multi.emit(sampleEvent())).toBe("failed");
    expect(healthy.events).toHaveLength(1);
  });

  describe("reports the worst outcome over its sinks (failed, then dropped, then accepted)", () => {
    const cases: [string, EmitOutcome[], EmitOutcome, Record<string, number>][] = [
      ["all accepted", ["accepted", "accepted"], "accepted", { emitted: 1, failed: 0 }],
      [
        "accepted and dropped",
        ["accepted", "dropped"],
        "dropped",
        { emitted: 0, failed: 0, sink_dropped: 1 },
      ],
      [
        "dropped and accepted",
        ["dropped", "accepted"],
        "dropped",
        { emitted: 0, failed: 0, sink_dropped: 1 },
      ],
      ["accepted and failed", ["accepted", "failed"], "failed", { emitted: 0, failed: 1 }],
      ["failed and dropped", ["failed", "dropped"], "failed", { emitted: 0, failed: 1 }],
      [
        "dropped, failed and accepted",
        ["dropped", "failed", "accepted"],
        "failed",
        { emitted: 0, failed: 1 },
      ],
    ];
    for (const [what, outcomes, worst, counts] of cases) {
      it(`${what} → ${worst}`, async () => {
        const sinks: Emitter[] = [];
        for (const [i, outcome] of outcomes.entries()) {
          const name = `${outcome}-${i}`;
          if (outcome === "accepted") sinks.push(createMemoryEmitter({ name }));
          else if (outcome === "dropped") sinks.push(await droppingEmitter(name));
          else sinks.push(throwingEmitter(name));
        }
        const multi = createMultiEmitter(sinks);

        expect(multi.emit(sampleEvent())).toBe(worst);

        const { emitted, failed, sink_dropped } = counts;
        expect(multi.stats()).toStrictEqual({
          name: "multi",
          emitted,
          dropped: sink_dropped === undefined ? {} : { sink_dropped },
          failed,
          sinks: sinks.map((sink) => sink.stats()),
        });
      });
    }
  });

  it("flushes every sink and reports ok when all are ok", async () => {
    const first = recordingEmitter("first");
    const second = recordingEmitter("second");
    const multi = createMultiEmitter([first, second], { name: "fanout" });

    expect(await multi.flush()).toStrictEqual({
      ok: true,
      results: [
        { emitter: "first", status: "ok" },
        { emitter: "second", status: "ok" },
      ],
    });
    expect([first.completed, second.completed]).toStrictEqual([
      { flush: 1, close: 0 },
      { flush: 1, close: 0 },
    ]);
  });

  it("does not let a sink whose flush hangs delay the others: it reports timeout", async () => {
    const { errors, options } = errorSink();
    const hanging = hangingEmitter("hanging");
    const healthy = recordingEmitter("healthy", 20);
    const multi = createMultiEmitter([hanging, healthy], { ...options, flushTimeoutMs: 100 });

    // On a fake clock: on a loaded machine's wall clock a stall (the worker descheduled, a GC) between
    // a sink's timeout timer and its flush's start timed the healthy sink out too, and a bound on the
    // time measured failed without the emitter being late.
    const report = await settlesAt(100, () => multi.flush());

    expect(report).toStrictEqual({
      ok: false,
      results: [
        { emitter: "hanging", status: "timeout" },
        { emitter: "healthy", status: "ok" },
      ],
    });
    expect(hanging.calls).toStrictEqual({ flush: 1, close: 0 });
    expect(healthy.calls).toStrictEqual({ flush: 1, close: 0 });
    expect(healthy.completed).toStrictEqual({ flush: 1, close: 0 });
    expect(errors).toStrictEqual([new AuditEmitError("hanging", "flush timeout")]);
  });

  it("does not let a sink whose close hangs delay the others, and drops events after close", async () => {
    const { errors, options } = errorSink();
    const hanging = hangingEmitter("hanging");
    const healthy = recordingEmitter("healthy", 20);
    const multi = createMultiEmitter([hanging, healthy], { ...options, flushTimeoutMs: 100 });

    const report = await settlesAt(100, () => multi.close());

    expect(report).toStrictEqual({
      ok: false,
      results: [
        { emitter: "hanging", status: "timeout" },
        { emitter: "healthy", status: "ok" },
      ],
    });
    expect(healthy.completed).toStrictEqual({ flush: 0, close: 1 });
    expect(errors).toStrictEqual([new AuditEmitError("hanging", "close timeout")]);

    expect(multi.emit(sampleEvent())).toBe("dropped");
    expect(healthy.events).toStrictEqual([]);
    expect(multi.stats()).toMatchObject({ emitted: 0, dropped: { closed: 1 }, failed: 0 });
  });

  it("reports a sink whose flush rejects as status error and calls onError with the same error", async () => {
    const { errors, options } = errorSink();
    const healthy = recordingEmitter("healthy");
    const multi = createMultiEmitter([rejectingEmitter("rejecting"), healthy], options);

    const report = await multi.flush();

    const error = new AuditEmitError("rejecting", "flush failed", { cause: new Error("flush exploded") });
    expect(report).toStrictEqual({
      ok: false,
      results: [
        { emitter: "rejecting", status: "error", error },
        { emitter: "healthy", status: "ok" },
      ],
    });
    expect(report.results[0]?.error).toBeInstanceOf(AuditEmitError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBe(report.results[0]?.error);
    expect(healthy.completed).toStrictEqual({ flush: 1, close: 0 });
  });

  it("reports a sink whose close rejects as status error", async () => {
    const multi = createMultiEmitter([rejectingEmitter("rejecting"), createNoopEmitter()]);

    expect(await multi.close()).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "rejecting",
          status: "error",
          error: new AuditEmitError("rejecting", "close failed", { cause: new Error("flush exploded") }),
        },
        { emitter: "noop", status: "ok" },
      ],
    });
  });

  it("reports a sink whose flush throws synchronously as status error", async () => {
    const thrower: Emitter = {
      ...createNoopEmitter({ name: "thrower" }),
      flush() {
        throw new Error("flush threw");
      },
    };
    const multi = createMultiEmitter([thrower]);

    expect(await multi.flush()).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "thrower",
          status: "error",
          error: new AuditEmitError("thrower", "flush failed", { cause: new Error("flush threw") }),
        },
      ],
    });
  });

  it("passes through the results of nested emitters, flattened", async () => {
    const { errors, options } = errorSink();
    const inner = createMultiEmitter([createNoopEmitter({ name: "a" }), rejectingEmitter("b")], {
      name: "inner",
    });
    const outer = createMultiEmitter([inner, createNoopEmitter({ name: "c" })], options);

    const report = await outer.flush();

    expect(report).toStrictEqual({
      ok: false,
      results: [
        { emitter: "a", status: "ok" },
        {
          emitter: "b",
          status: "error",
          error: new AuditEmitError("b", "flush failed", { cause: new Error("flush exploded") }),
        },
        { emitter: "c", status: "ok" },
      ],
    });
    expect(errors).toStrictEqual([report.results[1]?.error]);
  });

  describe("throws an AuditConfigError", () => {
    it("for an empty sink list", () => {
      expect(() => createMultiEmitter([])).toThrow(
        new AuditConfigError("multi emitter: needs at least one sink"),
      );
    });

    it("for sinks that are not an array", () => {
      const sinks = createNoopEmitter() as unknown as Emitter[];
      expect(() => createMultiEmitter(sinks)).toThrow(AuditConfigError);
      expect(() => createMultiEmitter(sinks)).toThrow(
        new AuditConfigError("multi emitter: needs at least one sink"),
      );
    });

    for (const flushTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      it(`for flushTimeoutMs ${flushTimeoutMs}`, () => {
        const options: MultiEmitterOptions = { flushTimeoutMs };
        expect(() => createMultiEmitter([createNoopEmitter()], options)).toThrow(
          new AuditConfigError(
            `multi emitter: \`flushTimeoutMs\` must be a number of ms from 1 to 2147483647 (what a timer holds), got ${flushTimeoutMs}`,
          ),
        );
      });
    }
  });

  it("is not affected by changes to the sink array after construction", () => {
    const first = createMemoryEmitter({ name: "first" });
    const sinks: Emitter[] = [first];
    const multi = createMultiEmitter(sinks);
    const late = createMemoryEmitter({ name: "late" });
    sinks.push(late);

    multi.emit(sampleEvent());

    expect([first.events.length, late.events.length]).toStrictEqual([1, 0]);
    expect(multi.stats().sinks?.map((s) => s.name)).toStrictEqual(["first"]);
  });
});
