import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { AUDIT_METRICS, instrumentAudit } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { type CollectedMetric, testMeterProvider } from "./metric-reader.js";

/** The sum of a metric's points (of one emitter, when the metric has emitter series). */
function total(collected: Map<string, CollectedMetric>, name: string): number {
  return (collected.get(name)?.points ?? []).reduce((sum, p) => sum + (p.value as number), 0);
}

const tuple = { operation: "write", user: "user:a", relation: "editor" } as const;

describe("events missing from a trail, from the metrics", () => {
  let dir = "";
  let store: AuditStore | undefined;
  afterEach(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("are the Recorder's drops and failures plus the drops after acceptance, as the store's rows show", async () => {
    dir = mkdtempSync(join(tmpdir(), "grpc-audit-missing-"));
    store = openAuditStore({ path: join(dir, "audit.db") });
    const storeSink = store.sink();
    // The sink waits for `open` (the queue overflows meanwhile), then writes; `hang` makes later
    // writes never end, so close gives up on what is left.
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    let hang = false;
    const sink: EventSink = {
      name: "store",
      write: async (batch, options) => {
        await opened;
        if (hang) return new Promise(() => {});
        return storeSink.write(batch, options);
      },
    };
    const emitter = createDeliveryEmitter({
      sink,
      maxQueueEvents: 10,
      maxBatchEvents: 5,
      overflow: "drop-oldest",
      closeTimeoutMs: 50,
    });
    const { meterProvider, collect } = testMeterProvider();
    const recorder = createRecorder({ service: "projects", emitters: [emitter], onError: () => {} });
    const instrumentation = instrumentAudit({ recorder, meterProvider });

    const calls = 60;
    for (let i = 0; i < 50; i++) recorder.recordTupleChange({ tuples: [{ ...tuple, object: `doc:${i}` }] });
    open();
    await recorder.flush();
    hang = true;
    for (let i = 50; i < calls; i++)
      recorder.recordTupleChange({ tuples: [{ ...tuple, object: `doc:${i}` }] });
    await recorder.close();

    const collected = await collect();
    const missing = calls - store.stats({}).total;
    const recordDrops = total(collected, AUDIT_METRICS.recorderDrops.name);
    const failed = total(collected, AUDIT_METRICS.failed.name);
    const droppedAfterAccept = total(collected, AUDIT_METRICS.droppedAfterAccept.name);
    // Evictions by drop-oldest and the events close gave up on: accepted, then lost.
    expect(droppedAfterAccept).toBeGreaterThan(0);
    expect(recordDrops + failed + droppedAfterAccept).toBe(missing);
    expect(total(collected, AUDIT_METRICS.delivered.name)).toBe(calls - missing);
    instrumentation.close();
  });
});
