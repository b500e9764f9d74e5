/**
 * `grpc_audit.sink.write.duration` counts failed writes too, but `instrumentSink` recorded a write
 * only when the sink's promise settled: a write the pipeline timed out (writeTimeoutMs) and aborted,
 * from a sink that ignores the signal and never settles, was never in the histogram, however often
 * the pipeline retried it. A write is now recorded once: when it settles or its signal is aborted.
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { AUDIT_METRIC_ATTRIBUTES as ATTR, AUDIT_METRICS, instrumentSink } from "../../src/otel/index.js";
import { sampleEvent } from "../helpers/events.js";
import { testMeterProvider } from "./metric-reader.js";

/** The count of each series of the write-duration histogram, keyed by its `error.type` ("ok" without). */
async function writeCounts(collect: ReturnType<typeof testMeterProvider>["collect"]) {
  const histogram = (await collect()).get(AUDIT_METRICS.sinkWriteDuration.name);
  return Object.fromEntries(
    (histogram?.points ?? []).map((point) => [
      point.attributes[ATTR.errorType] ?? "ok",
      { sink: point.attributes[ATTR.sinkName], count: (point.value as { count: number }).count },
    ]),
  );
}

describe("instrumentSink and writes the pipeline times out", () => {
  it("records each timed-out write once as TimeoutError, whether the sink never settles, rejects or resolves late", async () => {
    const { meterProvider, collect } = testMeterProvider();
    let calls = 0;
    const sink: EventSink = {
      name: "hung",
      write: (_batch, options) => {
        calls++;
        const signal = options?.signal;
        // 1: ignores the signal and never settles.
        if (calls === 1) return new Promise<void>(() => {});
        // 2: honours the signal: rejects with its reason.
        if (calls === 2)
          return new Promise<void>((_, reject) =>
            signal?.addEventListener("abort", () => reject(signal.reason)),
          );
        // 3: ignores the signal, then resolves after the pipeline gave up on it.
        if (calls === 3)
          return new Promise<void>((resolve) =>
            signal?.addEventListener("abort", () => setImmediate(resolve)),
          );
        return Promise.resolve();
      },
    };
    const emitter = createDeliveryEmitter({
      sink: instrumentSink(sink, { meterProvider }),
      writeTimeoutMs: 20,
      flushIntervalMs: 0,
      retry: { initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
    });
    expect(emitter.emit(sampleEvent())).toBe("accepted");
    expect(await emitter.flush({ timeoutMs: 10_000 })).toMatchObject({ ok: true });
    await emitter.close({ timeoutMs: 1000 });

    expect(calls).toBe(4);
    expect(emitter.stats()).toMatchObject({ delivered: 1, retried: 3 });
    expect(await writeCounts(collect)).toStrictEqual({
      TimeoutError: { sink: "hung", count: 3 },
      ok: { sink: "hung", count: 1 },
    });
  });

  it("records a write whose signal was aborted before it started at once, with the abort reason's name", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const wrapped = instrumentSink(
      { name: "hung", write: () => new Promise<void>(() => {}) },
      { meterProvider },
    );
    const controller = new AbortController();
    controller.abort(new Error("the delivery emitter was closed"));
    void wrapped.write([sampleEvent()], { signal: controller.signal });

    expect(await writeCounts(collect)).toStrictEqual({ Error: { sink: "hung", count: 1 } });
  });

  it("leaves no listener on a signal shared by many writes, and records each of them once", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const wrapped = instrumentSink({ name: "quick", write: async () => {} }, { meterProvider });
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) await wrapped.write([sampleEvent()], { signal: controller.signal });

    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    // Aborting after the writes settled records none of them again.
    controller.abort(new Error("late"));
    expect(await writeCounts(collect)).toStrictEqual({ ok: { sink: "quick", count: 100 } });
  });
});
