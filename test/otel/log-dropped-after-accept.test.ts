import { existsSync } from "node:fs";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { AUDIT_METRICS, instrumentAudit } from "../../src/otel/index.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { type CollectedMetric, testMeterProvider } from "./metric-reader.js";

/** The sum of a metric's points. */
function total(collected: Map<string, CollectedMetric>, name: string): number {
  return (collected.get(name)?.points ?? []).reduce((sum, p) => sum + (p.value as number), 0);
}

function points(collected: Map<string, CollectedMetric>, name: string): [unknown, unknown][] {
  return (collected.get(name)?.points ?? []).map((p) => [p.attributes, p.value]);
}

// A real log emitter on /dev/full: every write fails with ENOSPC, so nothing reaches the trail.
// How many events are accepted before the first write fails, and how many are refused after it,
// depends on when the batch is written: the tests assert sums, not that split.
describe.skipIf(!existsSync("/dev/full"))("a log emitter whose destination fails (/dev/full)", () => {
  let server: ProjectServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Five CreateProject calls over real gRPC, then the Recorder closed: 10 events (authn + mutation). */
  async function runCalls(recorder: Recorder): Promise<void> {
    const key = await newSigningKey("k1", "ES256");
    const token = await signToken(key, { sub: "alice" });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
      }),
    );
    const { client } = server;
    for (let i = 0; i < 5; i++) {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      const [error] = await unary(client.createProject.bind(client), { name: `p${i}` }, metadata);
      expect(error ?? null).toBeNull(); // fail-open: the audit failure never fails the call
    }
    await recorder.close();
  }

  it("counts the events close() gave up in dropped_after_accept, so the documented sum is every missing event", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const log = createLogEmitter({ destination: "/dev/full" });
    const recorder = createRecorder({ service: "projects", emitters: [log], onError: () => {} });
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    await runCalls(recorder);

    const collected = await collect();
    const givenUp = log.stats().dropped.destination_failed ?? 0;
    // Accepted, then lost when close() gave up on the failed destination: not in the Recorder's counts.
    expect(givenUp).toBeGreaterThan(0);
    expect(points(collected, AUDIT_METRICS.droppedAfterAccept.name)).toStrictEqual([
      [{ "grpc_audit.emitter.name": "log" }, givenUp],
    ]);
    // Nothing was written: every recorded event is missing from the trail.
    const missing = total(collected, AUDIT_METRICS.recorded.name);
    expect(missing).toBe(10);
    expect(
      total(collected, AUDIT_METRICS.recorderDrops.name) +
        total(collected, AUDIT_METRICS.failed.name) +
        total(collected, AUDIT_METRICS.droppedAfterAccept.name),
    ).toBe(missing);
    instrumentation.close();
  });

  it("reports it for the log emitter inside a multi emitter, and no such series for a memory emitter", async () => {
    const { meterProvider, collect } = testMeterProvider();
    const log: Emitter = createLogEmitter({ destination: "/dev/full" });
    const memory = createMemoryEmitter({ name: "memory", capacity: 4 });
    const recorder = createRecorder({ service: "projects", emitters: [log, memory], onError: () => {} });
    const instrumentation = instrumentAudit({ recorder, meterProvider });
    await runCalls(recorder);

    const collected = await collect();
    const givenUp = log.stats().dropped.destination_failed ?? 0;
    expect(givenUp).toBeGreaterThan(0);
    // The memory emitter's capacity drops happen at emit (in record.drops): not after acceptance.
    expect(memory.stats().dropped).toStrictEqual({ capacity: 6 });
    expect(points(collected, AUDIT_METRICS.droppedAfterAccept.name)).toStrictEqual([
      [{ "grpc_audit.emitter.name": "log" }, givenUp],
    ]);
    // The log emitter's trail misses all 10; with two emitters the sum is an upper bound.
    expect(
      total(collected, AUDIT_METRICS.recorderDrops.name) +
        total(collected, AUDIT_METRICS.failed.name) +
        total(collected, AUDIT_METRICS.droppedAfterAccept.name),
    ).toBeGreaterThanOrEqual(10);
    instrumentation.close();
  });
});
