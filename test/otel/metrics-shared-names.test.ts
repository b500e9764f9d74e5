/**
 * Metric values against what the Recorder and its emitters counted, when two emitters share a
 * name (two log or memory emitters with the default name; two broker sinks `kafka:audit` on two
 * clusters), and a histogram whose record() throws.
 */
import type { Histogram, Meter, MeterProvider } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { instrumentAudit, instrumentSink } from "../../src/otel/index.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { sampleEvent } from "../helpers/events.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { testMeterProvider } from "./metric-reader.js";

const mutation = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** Sum of a metric's points whose attributes include `match`. */
async function total(
  collect: ReturnType<typeof testMeterProvider>["collect"],
  name: string,
  match: Record<string, string>,
): Promise<number> {
  const points = (await collect()).get(name)?.points ?? [];
  return points
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + Number(p.value), 0);
}

describe("emitters that share a name", () => {
  it("count the drops of both memory emitters, not only the last one's", async () => {
    const { meterProvider, collect } = testMeterProvider();
    // Both named "memory" by default; the first keeps 1 event, the second 2.
    const recorder: Recorder = createRecorder({
      service: "s",
      emitters: [createMemoryEmitter({ capacity: 1 }), createMemoryEmitter({ capacity: 2 })],
    });
    closing.push(() => recorder.close());
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    for (let i = 0; i < 4; i++) recorder.recordResourceMutation(mutation);
    const sinks = recorder.stats().emitter.sinks ?? [];
    const dropped = sinks.reduce((sum, s) => sum + (s.dropped.capacity ?? 0), 0);
    expect(dropped).toBe(3 + 2);
    expect(
      await total(collect, "grpc_audit.events.dropped", {
        "grpc_audit.emitter.name": "memory",
        "grpc_audit.drop.reason": "capacity",
      }),
    ).toBe(dropped);
    instrumentation.close();
  });

  it("count the deliveries of both delivery emitters (two clusters, one topic)", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const first = createFakeSink({ name: "kafka:audit" });
    const second = createFakeSink({ name: "kafka:audit" });
    const emitters: Emitter[] = [first, second].map((sink) =>
      createDeliveryEmitter({ sink, flushIntervalMs: 10 }),
    );
    const recorder = createRecorder({ service: "s", emitters });
    closing.push(() => recorder.close());
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    for (let i = 0; i < 3; i++) recorder.recordResourceMutation(mutation);
    await recorder.flush();
    expect(first.received.flat().length + second.received.flat().length).toBe(6);
    expect(
      await total(collect, "grpc_audit.events.delivered", { "grpc_audit.emitter.name": "kafka:audit" }),
    ).toBe(6);
    instrumentation.close();
  });
});

describe("instrumentSink with a histogram that throws", () => {
  /** A MeterProvider whose histograms throw on record(), as a broken or misconfigured SDK may. */
  const throwingProvider = (): MeterProvider => ({
    getMeter: () =>
      ({
        createHistogram: () =>
          ({
            record() {
              throw new Error("meter broke");
            },
          }) as unknown as Histogram,
      }) as unknown as Meter,
  });

  it("still resolves a write the sink took, so the pipeline does not write the batch again", async () => {
    const sink = createFakeSink();
    const wrapped = instrumentSink(sink, { meterProvider: throwingProvider() });
    await expect(wrapped.write([sampleEvent()])).resolves.toBeUndefined();
    expect(sink.received.length).toBe(1);
  });

  it("still rejects with the sink's own error", async () => {
    const sink = createFakeSink();
    sink.mode = "fail";
    const wrapped = instrumentSink(sink, { meterProvider: throwingProvider() });
    await expect(wrapped.write([sampleEvent()])).rejects.toBe(sink.error);
  });

  it("delivers each event once through a delivery emitter", async () => {
    const sink = createFakeSink();
    const emitter = createDeliveryEmitter({
      sink: instrumentSink(sink, { meterProvider: throwingProvider() }),
      flushIntervalMs: 10,
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    closing.push(() => emitter.close());
    emitter.emit(sampleEvent());
    await emitter.flush({ timeoutMs: 500 });
    expect(sink.receivedIds()).toEqual([sampleEvent().eventId]);
    expect(emitter.stats().retried).toBe(0);
  });
});
