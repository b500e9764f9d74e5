/**
 * `instrumentSink` added an abort listener per write to the write's signal: a caller passing one
 * AbortSignal to more than 10 concurrent writes made Node print `MaxListenersExceededWarning` ("11
 * abort listeners added to [AbortSignal]"), though nothing leaked. Writes sharing a signal now share
 * one listener on it, and aborting it still records each pending write once.
 */
import { getEventListeners } from "node:events";
import { setImmediate } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventSink } from "../../src/emitters/sink.js";
import { AUDIT_METRIC_ATTRIBUTES as ATTR, AUDIT_METRICS, instrumentSink } from "../../src/otel/index.js";
import { sampleEvent } from "../helpers/events.js";
import { testMeterProvider } from "./metric-reader.js";

const WRITES = 50;

/** The count of each series of the write-duration histogram, keyed by its `error.type` ("ok" without). */
async function writeCounts(collect: ReturnType<typeof testMeterProvider>["collect"]) {
  const histogram = (await collect()).get(AUDIT_METRICS.sinkWriteDuration.name);
  return Object.fromEntries(
    (histogram?.points ?? []).map((point) => [
      point.attributes[ATTR.errorType] ?? "ok",
      (point.value as { count: number }).count,
    ]),
  );
}

const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
beforeEach(() => {
  warnings.length = 0;
  process.on("warning", onWarning);
});
afterEach(() => {
  process.off("warning", onWarning);
});

/** Lets Node emit the warnings it queued (process.emitWarning emits on a later tick). */
async function warningsEmitted(): Promise<string[]> {
  await setImmediate();
  await setImmediate();
  return warnings;
}

describe("instrumentSink and one signal shared by many concurrent writes", () => {
  it("adds one listener, prints no MaxListenersExceededWarning, and records every pending write once when aborted", async () => {
    const { meterProvider, collect } = testMeterProvider();
    // A sink that ignores the signal and never settles: only the instrumentation listens to it.
    const hung: EventSink = { name: "hung", write: () => new Promise<void>(() => {}) };
    const wrapped = instrumentSink(hung, { meterProvider });
    const controller = new AbortController();
    for (let i = 0; i < WRITES; i++) void wrapped.write([sampleEvent()], { signal: controller.signal });

    expect([await warningsEmitted(), getEventListeners(controller.signal, "abort").length]).toStrictEqual([
      [],
      1,
    ]);
    expect(await writeCounts(collect)).toStrictEqual({});

    controller.abort(new Error("the delivery emitter was closed"));
    expect(await writeCounts(collect)).toStrictEqual({ Error: WRITES });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    expect(await warningsEmitted()).toStrictEqual([]);
  });

  it("records the writes that settled as ok and only the pending ones at the abort, and leaves no listener", async () => {
    const { meterProvider, collect } = testMeterProvider();
    // Even writes settle when released, odd ones never: both kinds share the signal.
    const releases: (() => void)[] = [];
    let calls = 0;
    const sink: EventSink = {
      name: "half",
      write: () =>
        new Promise<void>((resolve) => {
          if (calls++ % 2 === 0) releases.push(resolve);
        }),
    };
    const wrapped = instrumentSink(sink, { meterProvider });
    const controller = new AbortController();
    const settled: Promise<void>[] = [];
    for (let i = 0; i < WRITES; i++) {
      const write = wrapped.write([sampleEvent()], { signal: controller.signal });
      if (i % 2 === 0) settled.push(write);
    }
    for (const release of releases) release();
    await Promise.all(settled);
    expect(await writeCounts(collect)).toStrictEqual({ ok: WRITES / 2 });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);

    controller.abort(new DOMException("write timed out", "TimeoutError"));
    expect(await writeCounts(collect)).toStrictEqual({ ok: WRITES / 2, TimeoutError: WRITES / 2 });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    expect(await warningsEmitted()).toStrictEqual([]);
  });

  it("removes the shared listener once the last write sharing the signal settles", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const wrapped = instrumentSink({ name: "quick", write: async () => {} }, { meterProvider });
    const controller = new AbortController();
    const writes = Array.from({ length: WRITES }, () =>
      wrapped.write([sampleEvent()], { signal: controller.signal }),
    );
    await Promise.all(writes);

    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    controller.abort(new Error("late"));
    expect(await writeCounts(collect)).toStrictEqual({ ok: WRITES });
    expect(await warningsEmitted()).toStrictEqual([]);
  });
});
