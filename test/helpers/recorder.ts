import { type AuditScope, createAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter, type MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder, type Recorder, type RecorderOptions } from "../../src/recorder/recorder.js";

/** Fixed event time of recorders made by `fixedRecorder`. */
export const FIXED_TIME = new Date("2026-11-23T10:00:00.000Z");
/** Monotonic "now" of recorders made by `fixedRecorder`; scopes from `fixedScope` started 250 ms earlier. */
export const FIXED_MONOTONIC_MS = 10_250;

/** A Recorder with a fixed clock and ids "evt-1", "evt-2", ... writing into a memory emitter. */
export function fixedRecorder(overrides: Partial<RecorderOptions> = {}): {
  recorder: Recorder;
  memory: MemoryEmitter;
  errors: Error[];
} {
  const memory = createMemoryEmitter();
  const errors: Error[] = [];
  let next = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => FIXED_TIME,
    monotonicNowMs: () => FIXED_MONOTONIC_MS,
    newEventId: () => `evt-${++next}`,
    onError: (error) => errors.push(error),
    ...overrides,
  });
  return { recorder, memory, errors };
}

/** A scope as the audit interceptor would open it for a call with trace and request ids and a user agent. */
export function fixedScope(overrides: Partial<AuditScope> = {}): AuditScope {
  return {
    ...createAuditScope({ operation: "/example.v1.ProjectService/CreateProject", startedAtMs: 10_000 }),
    peer: "127.0.0.1:50000",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    requestId: "req-1",
    userAgent: "grpc-node-js/1.14.7",
    ...overrides,
  };
}

/** The successes the record summaries among `events` counted, in total (their counts and overflow). */
export function summarized(events: readonly AuditEvent[]): number {
  let total = 0;
  for (const event of events) {
    if (event.detail?.$case !== "recordSummary") continue;
    const { counts, overflow } = event.detail.value;
    total += overflow + counts.reduce((sum, c) => sum + c.count, 0);
  }
  return total;
}
