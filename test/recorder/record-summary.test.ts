// The record policy's summaries: what "failures" counted instead of recording reaches the trail as
// `record.summary` events, one window after another (deltas, so they sum to stats().skipped), every
// summaryEveryMs and on close before the final checkpoint, never for an empty window.
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { runInAuditScope } from "../../src/context/scope.js";
import { AuditConfigError } from "../../src/errors/index.js";
import {
  ActorType,
  type AuditEvent,
  EventType,
  type RecordSummaryDetail,
} from "../../src/gen/grpcaudit/v1/event.js";
import type { RecordPolicy } from "../../src/recorder/record-policy.js";
import type { Recorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "../chain/trail.js";
import { fixedRecorder, fixedScope } from "../helpers/recorder.js";

const GET = "/example.v1.ProjectService/GetProject";
const LIST = "/example.v1.ProjectService/ListProjects";
const FAILURES: RecordPolicy = { "authz.decision": "failures", "resource.access": "failures" };
const START = Date.parse("2026-11-23T10:00:00.000Z");

/** A clock the test moves: `clock.ms` is what the Recorder's `now` reads. */
const clock = { ms: START };
const now = () => new Date(clock.ms);

function summaryOf(event: AuditEvent | undefined): RecordSummaryDetail | undefined {
  return event?.detail?.$case === "recordSummary" ? event.detail.value : undefined;
}
const summaries = (events: readonly AuditEvent[]) =>
  events.map(summaryOf).filter((s): s is RecordSummaryDetail => s !== undefined);

/** `times` allowed reads of `operation` by `actor`, inside a call. */
function reads(recorder: Recorder, actor: string, operation: string, times: number): void {
  const scope = fixedScope({ operation, actor: { id: actor, type: ActorType.ACTOR_TYPE_USER } as never });
  runInAuditScope(scope, () => {
    for (let i = 0; i < times; i++) {
      recorder.recordAuthzDecision({
        relation: "viewer",
        objectType: "project",
        objectId: "p-1",
        decision: "allowed",
      });
      recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1" });
    }
  });
}

/** The sum, per "kind actor operation", of the summaries' counts. */
function summed(details: readonly RecordSummaryDetail[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const { counts } of details) {
    for (const c of counts) {
      const key = `${c.kind} ${c.actorId} ${c.operation}`;
      totals[key] = (totals[key] ?? 0) + c.count;
    }
  }
  return totals;
}

describe("record.summary events", () => {
  afterEach(() => {
    vi.useRealTimers();
    clock.ms = START;
  });

  it("writes the skips of each window every summaryEveryMs: deltas, none for an empty window", async () => {
    vi.useFakeTimers();
    const { recorder, memory } = fixedRecorder({ record: FAILURES, now, summaryEveryMs: 10_000 });
    reads(recorder, "alice", GET, 3);
    reads(recorder, "bob", LIST, 1);
    expect(memory.events).toHaveLength(0);
    clock.ms = START + 10_000;
    vi.advanceTimersByTime(10_000);
    expect(memory.events).toHaveLength(1);
    const [first] = memory.events;
    expect(first).toMatchObject({
      eventType: EventType.EVENT_TYPE_RECORD_SUMMARY,
      service: "projects",
      operation: "",
      requestId: "",
      traceId: "",
      peer: "",
      actor: { id: "grpc-audit", type: ActorType.ACTOR_TYPE_SYSTEM },
      result: { success: true, code: "OK", message: "" },
      occurredAt: new Date(START + 10_000),
    });
    expect(summaryOf(first)).toStrictEqual({
      since: new Date(START),
      counts: [
        { kind: "authz.decision", actorId: "alice", operation: GET, count: 3 },
        { kind: "resource.access", actorId: "alice", operation: GET, count: 3 },
        { kind: "authz.decision", actorId: "bob", operation: LIST, count: 1 },
        { kind: "resource.access", actorId: "bob", operation: LIST, count: 1 },
      ],
      overflow: 0,
    });

    // Nothing skipped in the next window: no summary.
    clock.ms = START + 20_000;
    vi.advanceTimersByTime(10_000);
    expect(memory.events).toHaveLength(1);

    // The third window holds only what came since the first summary, from its time on.
    reads(recorder, "bob", LIST, 2);
    reads(recorder, "carol", GET, 1);
    clock.ms = START + 30_000;
    vi.advanceTimersByTime(10_000);
    expect(memory.events).toHaveLength(2);
    expect(summaryOf(memory.events[1])).toStrictEqual({
      since: new Date(START + 10_000),
      counts: [
        { kind: "authz.decision", actorId: "bob", operation: LIST, count: 2 },
        { kind: "resource.access", actorId: "bob", operation: LIST, count: 2 },
        { kind: "authz.decision", actorId: "carol", operation: GET, count: 1 },
        { kind: "resource.access", actorId: "carol", operation: GET, count: 1 },
      ],
      overflow: 0,
    });

    // Summed, the windows give the cumulative counts stats() keeps.
    const stats = recorder.stats();
    expect(summed(summaries(memory.events))).toStrictEqual(
      Object.fromEntries(stats.skipped.counts.map((c) => [`${c.kind} ${c.actor} ${c.operation}`, c.count])),
    );
    expect(stats.recorded["record.summary"]).toBe(2);
    expect(stats.accepted).toBe(2);
    await recorder.close();
  });

  it("writes one every 60000 ms by default", () => {
    vi.useFakeTimers();
    const { recorder, memory } = fixedRecorder({ record: FAILURES, now });
    reads(recorder, "alice", GET, 1);
    vi.advanceTimersByTime(59_999);
    expect(memory.events).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(summaries(memory.events)).toHaveLength(1);
  });

  it("writes the last window on close, before the final checkpoint, and the chain verifies", async () => {
    const { recorder, memory, errors } = fixedRecorder({
      record: FAILURES,
      now,
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
    });
    reads(recorder, "alice", GET, 2);
    recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: "p-2",
      decision: "denied",
    });
    await recorder.close();
    expect(memory.events.map((e) => [e.detail?.$case, e.chain?.seq])).toStrictEqual([
      ["authz", 1],
      ["recordSummary", 2],
      ["checkpoint", 3],
    ]);
    expect(memory.events[2]?.detail).toMatchObject({ value: { final: true, headSeq: 2 } });
    const report = await verifyChains(memory.events, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report.ok).toBe(true);
    expect(errors).toStrictEqual([]);
  });

  it("writes none when nothing was skipped, when the policy skips nothing, or with summaryEveryMs 0", async () => {
    const onlyFailures = fixedRecorder({ record: FAILURES });
    onlyFailures.recorder.recordAuthzDecision({
      relation: "viewer",
      objectType: "project",
      objectId: "p-1",
      decision: "denied",
    });
    await onlyFailures.recorder.close();
    expect(onlyFailures.memory.events.map((e) => e.detail?.$case)).toStrictEqual(["authz"]);

    const off = fixedRecorder({ record: FAILURES, summaryEveryMs: 0 });
    reads(off.recorder, "alice", GET, 2);
    await off.recorder.close();
    expect(off.memory.events).toStrictEqual([]);
    expect(off.recorder.stats().skipped.byKind["authz.decision"]).toBe(2);

    vi.useFakeTimers();
    const all = fixedRecorder();
    expect(vi.getTimerCount()).toBe(0);
    reads(all.recorder, "alice", GET, 1);
    await all.recorder.close();
    expect(summaries(all.memory.events)).toStrictEqual([]);
  });

  it("cuts a window of 1,200 keys into 3 events of at most 500 counts, in first-seen order", async () => {
    const { recorder, memory } = fixedRecorder({ record: { "resource.access": "failures" }, now });
    for (let i = 0; i < 1_200; i++) {
      recorder.recordResourceAccess({ resourceType: "project", resourceId: "p", actor: { id: `u-${i}` } });
    }
    await recorder.close();
    const details = summaries(memory.events);
    expect(details.map((d) => d.counts.length)).toStrictEqual([500, 500, 200]);
    expect(details.flatMap((d) => d.counts.map((c) => c.actorId))).toStrictEqual(
      Array.from({ length: 1_200 }, (_, i) => `u-${i}`),
    );
    expect(new Set(memory.events.map((e) => e.occurredAt?.getTime())).size).toBe(1);
    expect(new Set(details.map((d) => d.since?.getTime()))).toStrictEqual(new Set([START]));
  });

  it("reports skips beyond the held keys as overflow, per window", async () => {
    vi.useFakeTimers();
    const { recorder, memory } = fixedRecorder({
      record: FAILURES,
      now,
      maxSkippedKeys: 1,
      summaryEveryMs: 1000,
    });
    reads(recorder, "alice", GET, 1); // the authz key is held, the access key is not
    reads(recorder, "bob", GET, 1);
    vi.advanceTimersByTime(1000);
    reads(recorder, "bob", GET, 1);
    await recorder.close();
    expect(summaries(memory.events).map((d) => [d.counts, d.overflow])).toStrictEqual([
      [[{ kind: "authz.decision", actorId: "alice", operation: GET, count: 1 }], 3],
      [[], 2],
    ]);
    expect(recorder.stats().skipped.overflow).toBe(5);
  });

  it("keeps a window whose summary could not be built for the next one, counted as failed", async () => {
    let broken = false;
    vi.useFakeTimers();
    const { recorder, memory, errors } = fixedRecorder({
      record: FAILURES,
      summaryEveryMs: 1000,
      now: () => {
        if (broken) throw new Error("clock down");
        return now();
      },
    });
    reads(recorder, "alice", GET, 1);
    broken = true;
    vi.advanceTimersByTime(1000);
    expect(memory.events).toStrictEqual([]);
    expect(recorder.stats().failed).toBe(1);
    expect(errors.map((e) => e.message)).toStrictEqual(["recorder: the record summary could not be built"]);
    broken = false;
    reads(recorder, "alice", GET, 1);
    await recorder.close();
    expect(summed(summaries(memory.events))).toStrictEqual({
      [`authz.decision alice ${GET}`]: 2,
      [`resource.access alice ${GET}`]: 2,
    });
  });

  it.each([
    [-1, "-1"],
    [0.5, "0.5"],
    [2 ** 31, "2147483648"],
    [Number.NaN, "NaN"],
    ["60000", '"60000"'], // a string: before the fix it read "got 60000"
  ])("refuses summaryEveryMs %s", (value, shown) => {
    expect(() => fixedRecorder({ summaryEveryMs: value as number })).toThrow(
      new AuditConfigError(
        `createRecorder: \`summaryEveryMs\` (0: no summaries) must be an integer of ms from 1 to 2147483647 (what a timer holds), got ${shown}`,
      ),
    );
  });
});
