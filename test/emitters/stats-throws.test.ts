/**
 * One emitter whose stats() throws made the multi emitter's stats() throw (or the Recorder's, when it
 * was the only one), and with it every audit metric of the collection. Now that emitter keeps its last
 * good snapshot (zeros before the first), the failure is reported once to onError, and the other sinks'
 * counts stand.
 */
import { describe, expect, it } from "vitest";
import type { Emitter, EmitterStats } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter } from "../../src/emitters/multi-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { AUDIT_METRICS, instrumentAudit } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { sampleEvent } from "../helpers/events.js";
import { testMeterProvider } from "../otel/metric-reader.js";

/** A memory emitter whose stats() throws while `broken` is set. */
function flakyStats(name: string): Emitter & { broken: boolean } {
  const memory = createMemoryEmitter({ name });
  const flaky = {
    ...memory,
    broken: false,
    stats(): EmitterStats {
      if (flaky.broken) throw new Error("stats exploded");
      return memory.stats();
    },
  };
  return flaky;
}

describe("createMultiEmitter stats() with a sink whose stats() throws", () => {
  it("gives that sink's last good snapshot, reports the failure once, and reads it again once it works", () => {
    const errors: Error[] = [];
    const flaky = flakyStats("flaky");
    const other = createMemoryEmitter({ name: "other" });
    const multi = createMultiEmitter([flaky, other], { onError: (error) => errors.push(error) });
    multi.emit(sampleEvent());
    expect(multi.stats().sinks?.map((s) => [s.name, s.emitted])).toStrictEqual([
      ["flaky", 1],
      ["other", 1],
    ]);

    flaky.broken = true;
    multi.emit(sampleEvent({ kind: "authn" }));
    const during = [multi.stats(), multi.stats()].map((s) =>
      s.sinks?.map((sink) => [sink.name, sink.emitted]),
    );
    expect(during).toStrictEqual([
      [
        ["flaky", 1],
        ["other", 2],
      ],
      [
        ["flaky", 1],
        ["other", 2],
      ],
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    expect(errors[0]).toMatchObject({ message: "flaky: stats threw", cause: { message: "stats exploded" } });

    flaky.broken = false;
    expect(multi.stats().sinks?.[0]).toMatchObject({ name: "flaky", emitted: 2 });
  });

  it("gives zeros for a sink whose stats() throws from the start", () => {
    const flaky = flakyStats("flaky");
    flaky.broken = true;
    const multi = createMultiEmitter([flaky, createMemoryEmitter({ name: "other" })]);
    expect(multi.stats().sinks?.[0]).toStrictEqual({ name: "flaky", emitted: 0, dropped: {}, failed: 0 });
  });

  it("keeps the audit metrics of a Recorder over it", async () => {
    const flaky = flakyStats("flaky");
    const recorder = createRecorder({
      service: "projects",
      emitters: [createMultiEmitter([flaky, createMemoryEmitter({ name: "other" })])],
    });
    const { meterProvider, collect } = testMeterProvider();
    instrumentAudit({ recorder, meterProvider });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:a", relation: "r", object: "doc:1" }],
    });
    flaky.broken = true;

    const accepted = (await collect()).get(AUDIT_METRICS.accepted.name);
    expect(accepted?.points.map((p) => p.value)).toStrictEqual([1]);
  });
});

describe("a Recorder whose one emitter's stats() throws", () => {
  it("keeps its own stats() and metrics, with the emitter's last good snapshot, and reports the failure once", async () => {
    const errors: Error[] = [];
    const flaky = flakyStats("flaky");
    const recorder = createRecorder({
      service: "projects",
      emitters: [flaky],
      onError: (e) => errors.push(e),
    });
    const { meterProvider, collect } = testMeterProvider();
    instrumentAudit({ recorder, meterProvider });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:a", relation: "r", object: "doc:1" }],
    });
    expect(recorder.stats().emitter).toMatchObject({ name: "flaky", emitted: 1 });
    flaky.broken = true;

    expect([recorder.stats().accepted, recorder.stats().emitter]).toStrictEqual([
      1,
      { name: "flaky", emitted: 1, dropped: {}, failed: 0 },
    ]);
    const accepted = (await collect()).get(AUDIT_METRICS.accepted.name);
    expect(accepted?.points.map((p) => p.value)).toStrictEqual([1]);
    expect(errors.map((e) => e.message)).toStrictEqual(["flaky: stats threw"]);
  });
});
