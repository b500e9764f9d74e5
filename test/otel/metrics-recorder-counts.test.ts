import { describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter } from "../../src/emitters/multi-emitter.js";
import { AuditError } from "../../src/errors/index.js";
import { AUDIT_METRICS, instrumentAudit } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { type CollectedMetric, testMeterProvider } from "./metric-reader.js";

/** The value of a metric that has one series without attributes. */
function single(collected: Map<string, CollectedMetric>, name: string): unknown {
  const points = collected.get(name)?.points ?? [];
  expect(points.map((p) => p.attributes)).toStrictEqual([{}]);
  return points[0]?.value;
}

// Under a multi emitter the emitters' own drops overlap (an event both dropped is in both series):
// only the Recorder's counts tell how many events are missing from a trail, and how many calls there were.
describe("the Recorder's own counts as metrics", () => {
  it("report its drops, errors and attributes left out, adding up to the record calls", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const sink = createFakeSink({ name: "slow" });
    sink.mode = "hold"; // the first batch is never acknowledged during the test
    const delivery = createDeliveryEmitter({ sink, maxQueueEvents: 5, overflow: "drop-newest" });
    const memory = createMemoryEmitter({ name: "memory", capacity: 3 });
    const recorder = createRecorder({
      service: "projects",
      emitters: [createMultiEmitter([delivery, memory])],
      onError: () => {},
    });
    const instrumentation = instrumentAudit({ recorder, meterProvider });

    const tuple = { operation: "write", user: "user:a", relation: "editor" } as const;
    for (let i = 0; i < 20; i++) {
      recorder.recordTupleChange({
        tuples: [{ ...tuple, object: `project:p-${i}` }],
        // One entry with a value that is not a string: left out of the first two events.
        ...(i < 2 ? { attributes: { ok: "1", bad: 2 as unknown as string } } : {}),
      });
    }
    for (let i = 0; i < 4; i++)
      recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
    recorder.recordTupleChange({ tuples: [] }); // refused: no tuple
    recorder.reportError(new AuditError("target id extractor threw"));

    const collected = await collect();
    const stats = recorder.stats();
    // The delivery emitter took 5, the memory emitter 3: only 3 events reached both trails.
    expect([stats.accepted, stats.dropped, stats.invalid]).toStrictEqual([3, 21, 1]);
    expect(single(collected, AUDIT_METRICS.accepted.name)).toBe(3);
    expect(single(collected, AUDIT_METRICS.recorderDrops.name)).toBe(21);
    expect(single(collected, AUDIT_METRICS.failed.name)).toBe(0);
    expect(single(collected, AUDIT_METRICS.refused.name)).toBe(1);
    expect(single(collected, AUDIT_METRICS.errors.name)).toBe(1);
    expect(single(collected, AUDIT_METRICS.attributesDropped.name)).toBe(2);
    // The per-emitter drops (19 and 21) overlap and sum to more than the events dropped.
    const perEmitter = (collected.get(AUDIT_METRICS.dropped.name)?.points ?? []).reduce(
      (sum, p) => sum + (p.value as number),
      0,
    );
    expect(perEmitter).toBe(40);
    const skipped = (collected.get(AUDIT_METRICS.skipped.name)?.points ?? []).reduce(
      (sum, p) => sum + (p.value as number),
      0,
    );
    const counted = ["accepted", "recorderDrops", "failed", "refused"] as const;
    const total = counted.reduce(
      (sum, key) => sum + (single(collected, AUDIT_METRICS[key].name) as number),
      skipped,
    );
    expect(total).toBe(25);

    instrumentation.close();
    sink.ackHeld();
    await recorder.close();
  });
});
