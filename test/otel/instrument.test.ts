import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { EncodedEvent, EventSink } from "../../src/emitters/sink.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { instrumentAudit, instrumentSink } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { sampleEvents } from "../helpers/events.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { testMeterProvider } from "./metric-reader.js";

const folder = mkdtempSync(join(tmpdir(), "grpc-audit-otel-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const values = async (collect: ReturnType<typeof testMeterProvider>["collect"], name: string) =>
  ((await collect()).get(name)?.points ?? []).map((p) => p.value);

describe("instrumentAudit", () => {
  it("reports spool rows and bytes of a write-ahead delivery emitter", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 60_000,
      spool: { path: join(folder, "spool.db"), writeAhead: true },
    });
    const recorder = createRecorder({ service: "s", emitters: [emitter] });
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    const events = sampleEvents();
    for (const event of events) emitter.emit(event);
    // Write-ahead: flush commits every accepted event to the spool at once; the sink holds the write.
    expect((await emitter.flush({ timeoutMs: 1 })).ok).toBe(false);
    const stats = emitter.stats();
    expect([stats.spoolEvents, stats.spoolBytes]).toStrictEqual([
      events.length,
      events.reduce((sum, event) => sum + encodeEvent(event).length, 0),
    ]);
    expect(await values(collect, "grpc_audit.delivery.spool.event.count")).toStrictEqual([stats.spoolEvents]);
    expect(await values(collect, "grpc_audit.delivery.spool.usage")).toStrictEqual([stats.spoolBytes]);
    expect(await values(collect, "grpc_audit.events.spooled")).toStrictEqual([events.length]);
    instrumentation.close();
    sink.ackHeld();
    await emitter.close();
  });

  it("stops reading the Recorder on close()", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const recorder = createRecorder({ service: "s", emitters: [{ kind: "noop" }] });
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    expect(await values(collect, "grpc_audit.events.accepted")).toStrictEqual([0]);
    instrumentation.close();
    instrumentation.close();
    recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "1" });
    // The SDK keeps exporting the last cumulative value; the Recorder is no longer read.
    expect(recorder.stats().accepted).toBe(1);
    expect(await values(collect, "grpc_audit.events.accepted")).toStrictEqual([0]);
  });

  it("refuses a recorder without stats() and a meterProvider without getMeter()", () => {
    expect(() => instrumentAudit({ recorder: {} as never })).toThrow(
      new AuditConfigError("instrumentAudit: `recorder` must be a Recorder (an object with stats())"),
    );
    const recorder = createRecorder({ service: "s", emitters: [{ kind: "noop" }] });
    expect(() => instrumentAudit({ recorder, meterProvider: {} as never })).toThrow(
      new AuditConfigError("instrumentAudit: `meterProvider` must be an OpenTelemetry MeterProvider"),
    );
  });
});

describe("instrumentSink", () => {
  it("passes writes, results, errors, limits and close through unchanged", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const written: (readonly EncodedEvent[])[] = [];
    let closed = 0;
    const failure = new TypeError("broker gone");
    const sink: EventSink = {
      name: "encoded",
      maxEventBytes: 1000,
      write: async () => {
        throw new Error("write() must not be called when writeEncoded exists");
      },
      writeEncoded: async (batch) => {
        written.push(batch);
        if (written.length === 2) throw failure;
      },
      close: async () => {
        closed++;
      },
    };
    let clock = 0;
    const wrapped = instrumentSink(sink, { meterProvider, monotonicNowMs: () => (clock += 10) });
    const [event] = sampleEvents();
    if (event === undefined) throw new Error("no sample event");
    const batch = [{ bytes: encodeEvent(event), event }];
    await wrapped.writeEncoded?.(batch);
    await expect(wrapped.writeEncoded?.(batch)).rejects.toBe(failure);
    await wrapped.close?.();
    expect([wrapped.name, wrapped.maxEventBytes, written, closed]).toStrictEqual([
      "encoded",
      1000,
      [batch, batch],
      1,
    ]);
    const points = (await collect()).get("grpc_audit.sink.write.duration")?.points ?? [];
    expect(
      points.map((p) => [p.attributes, (p.value as { sum: number; count: number }).count]),
    ).toStrictEqual([
      [{ "grpc_audit.sink.name": "encoded" }, 1],
      [{ "grpc_audit.sink.name": "encoded", "error.type": "TypeError" }, 1],
    ]);
    expect(points.map((p) => (p.value as { sum: number }).sum)).toStrictEqual([0.01, 0.01]);
  });

  it("writes as the sink does when its clock throws, and records no duration", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const written: number[] = [];
    const failure = new RangeError("disk full");
    const sink: EventSink = {
      name: "clockless",
      write: async (batch) => {
        written.push(batch.length);
        if (written.length === 2) throw failure;
      },
    };
    const monotonicNowMs = () => {
      throw new Error("clock broken");
    };
    const wrapped = instrumentSink(sink, { meterProvider, monotonicNowMs });
    const batch = sampleEvents().slice(0, 2);
    await expect(wrapped.write(batch)).resolves.toBeUndefined();
    await expect(wrapped.write(batch)).rejects.toBe(failure);
    expect(written).toStrictEqual([2, 2]);
    expect((await collect()).get("grpc_audit.sink.write.duration")?.points ?? []).toStrictEqual([]);
  });

  it("leaves out writeEncoded, maxEventBytes and close when the sink has none", () => {
    const { meterProvider } = testMeterProvider();
    const wrapped = instrumentSink({ name: "plain", write: async () => {} }, { meterProvider });
    expect(Object.keys(wrapped).sort()).toStrictEqual(["name", "write"]);
  });

  it("refuses what is not a sink", () => {
    expect(() => instrumentSink({ name: "x" } as never)).toThrow(
      new AuditConfigError("instrumentSink: `sink` must be an EventSink (an object with write())"),
    );
  });
});
