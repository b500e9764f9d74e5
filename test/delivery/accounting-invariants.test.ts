/**
 * Accounting invariants under faults: "loses nothing; every event not delivered is counted".
 *
 * A real Recorder (chain with signed checkpoints, a "failures" record policy writing summaries) writes
 * into real emitters (log to a file, noop, memory, and a delivery emitter with a real spool file),
 * through the Recorder's own multi emitter. The one stand-in is the sink at the delivery pipeline's
 * port, `EventSink`, the documented extension point: its writes succeed, fail, hang until aborted, or
 * refuse an event as too large (`AuditEventTooLargeError`), in a schedule drawn from a seeded PRNG
 * (the seed and policy name every failed assertion; ACCOUNTING_SEEDS=<n> runs more seeds). The draws
 * are seeded, but which write meets which draw also depends on timers, so a run is reproducible in its
 * inputs, not to the microsecond: the invariants must hold whatever the interleaving, and no assertion
 * is about time. Every overflow policy runs with a small queue. After `close()` it
 * checks that every record call and every checkpoint or summary is counted once by the Recorder; each
 * emitter's counters cover what it was handed; every event handed to the delivery emitter is delivered
 * (exactly once: nothing crashes here, and a failed write stores nothing), left in the spool (and
 * replayed by the next emitter on that file), or counted as dropped or failed; close's `pending` is
 * what the spool file holds; the delivery emitter's Emitter counters add up (`emitted + dropped -
 * droppedAfterAccept + failed` is what it was handed); onError was told of every drop by the end of
 * close; and the delivered summaries sum to `stats().skipped`.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditScope, runInAuditScope } from "../../src/context/scope.js";
import { createDeliveryEmitter, type DeliveryStats, type OverflowPolicy } from "../../src/delivery/index.js";
import type { EmitterStats } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import type { EventSink, SinkWriteOptions } from "../../src/emitters/sink.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import { Actor, ActorType, type AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder, type RecordOutcome } from "../../src/recorder/recorder.js";
import { KEY_ID, SIGNING_KEY } from "../chain/trail.js";
import { sampleEvent } from "../helpers/events.js";
import { summarized } from "../helpers/recorder.js";
import { tempDir } from "./helpers.js";

const POLICIES: readonly OverflowPolicy[] = ["drop-newest", "drop-oldest", "park", "spool", "fail-rpc"];
// ACCOUNTING_SEEDS=<n> runs seeds 1..n instead (a longer search; not in CI).
const SEEDS = Array.from({ length: Number(process.env.ACCOUNTING_SEEDS ?? 6) }, (_, i) => i + 1);
const OPERATIONS = 120;

let dir: string;
let removeDir: () => void;

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("accounting"));
});

afterEach(() => {
  removeDir();
});

/** mulberry32: a small seeded PRNG, numbers in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sink at the EventSink port whose writes succeed, fail, hang or refuse, as `random` says. */
function scheduledSink(random: () => number) {
  const written = new Map<string, number>();
  const events: AuditEvent[] = [];
  const sink: EventSink = {
    name: "scheduled",
    // Events with many attributes are over this: refused at emit as too_large.
    maxEventBytes: 2500,
    async write(batch: readonly AuditEvent[], options?: SinkWriteOptions): Promise<void> {
      const r = random();
      const big = batch.find((event) => event.attributes.size === "big");
      if (big !== undefined && r < 0.5) {
        throw new AuditEventTooLargeError("scheduled", "over the topic's limit", { eventIds: [big.eventId] });
      }
      if (r < 0.2) throw new Error("sink down");
      if (r < 0.27) {
        // Hangs until the pipeline aborts it (writeTimeoutMs, or close).
        await new Promise<void>((_, reject) => {
          const signal = options?.signal;
          if (signal === undefined) return;
          if (signal.aborted) reject(new Error("aborted"));
          signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        });
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (options?.signal?.aborted === true) throw new Error("aborted");
      for (const event of batch) {
        written.set(event.eventId, (written.get(event.eventId) ?? 0) + 1);
        events.push(event);
      }
    },
  };
  return { sink, written, events };
}

function droppedTotal(stats: EmitterStats): number {
  return Object.values(stats.dropped).reduce((sum, n) => sum + n, 0);
}

/** The drops the onError reports tell of, by reason: "dropped 3 events (queue_full): ...". */
function reportedDrops(messages: readonly string[]): Record<string, number> {
  const drops: Record<string, number> = {};
  for (const message of messages) {
    const match = /: dropped (\d+) events? \((\w+)\)/.exec(message);
    if (match === null) continue;
    const [, count, reason] = match;
    if (reason !== undefined) drops[reason] = (drops[reason] ?? 0) + Number(count);
  }
  return drops;
}

function spoolIds(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT event_id FROM spool ORDER BY id").all() as { event_id: string }[]).map(
      (row) => row.event_id,
    );
  } finally {
    db.close();
  }
}

async function run(seed: number, policy: OverflowPolicy): Promise<void> {
  const random = prng(seed * 7919 + POLICIES.indexOf(policy));
  const {
    sink,
    written,
    events: sinkEvents,
  } = scheduledSink(prng(seed * 104_729 + POLICIES.indexOf(policy)));
  const spoolPath = path.join(dir, `spool-${seed}-${policy}.db`);
  const logPath = path.join(dir, `log-${seed}-${policy}.jsonl`);
  const writeAhead = seed % 2 === 0;
  const warnings: string[] = [];
  const delivery = createDeliveryEmitter({
    sink,
    overflow: policy,
    maxQueueEvents: 6,
    maxBatchEvents: 3,
    flushIntervalMs: 0,
    maxInFlightBatches: 1 + (seed % 3),
    writeTimeoutMs: 15,
    retry: { initialDelayMs: 1, maxDelayMs: 4 },
    random,
    park: { timeoutMs: 3, maxParked: 3 },
    spool: { path: spoolPath, commitIntervalMs: 2, spoolAfterAttempts: 3, maxBytes: 12_000, writeAhead },
    flushTimeoutMs: 60,
    // Every third seed gives close() no time to drain: what is left goes to the spool for the replay.
    closeTimeoutMs: seed % 3 === 0 ? 1 : 60,
    onError: (error) => warnings.push(error.message),
  });
  const log = createLogEmitter({ destination: logPath });
  const noop = createNoopEmitter();
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [log, noop, memory, delivery],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 5, checkpointIntervalMs: 7 },
    record: { "authz.decision": "failures" },
    summaryEveryMs: 4,
  });

  let calls = 0;
  const outcomes: Record<RecordOutcome, number> = { accepted: 0, dropped: 0, failed: 0 };
  const count = (outcome: RecordOutcome) => {
    calls++;
    outcomes[outcome]++;
  };
  const actors = ["alice", "bob", "carol"];
  for (let i = 0; i < OPERATIONS; i++) {
    const r = random();
    const actor = actors[Math.floor(random() * actors.length)] ?? "alice";
    const scope = createAuditScope({ operation: "/example.v1.ProjectService/GetProject" });
    scope.actor = { ...Actor.create(), id: actor, type: ActorType.ACTOR_TYPE_USER };
    runInAuditScope(scope, () => {
      if (r < 0.35) {
        count(
          recorder.recordAuthzDecision({
            relation: "viewer",
            objectType: "project",
            objectId: `p-${i}`,
            decision: "allowed",
          }),
        );
      } else if (r < 0.5) {
        count(
          recorder.recordAuthzDecision({
            relation: "viewer",
            objectType: "project",
            objectId: `p-${i}`,
            decision: "denied",
          }),
        );
      } else if (r < 0.8) {
        count(
          recorder.recordResourceMutation({
            mutation: "update",
            resourceType: "project",
            resourceId: `p-${i}`,
          }),
        );
      } else if (r < 0.9) {
        // Too large for the sink at emit (many attributes), or refused by its write ("size: big").
        const attributes: Record<string, string> = { size: "big" };
        const many = random() < 0.5 ? 16 : 0;
        for (let a = 1; a < many; a++) attributes[`a${a}`] = "x".repeat(200);
        count(
          recorder.recordResourceMutation({
            mutation: "delete",
            resourceType: "project",
            resourceId: `p-${i}`,
            attributes,
          }),
        );
      } else {
        count(recorder.recordResourceMutation({ mutation: "update" } as never));
      }
    });
    // Let the pump, the timers (summaries, checkpoints, commits) and the sink run now and then.
    if (random() < 0.25) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
  }

  const report = await recorder.close();
  // Record calls after close are dropped and counted.
  for (let i = 0; i < 3; i++) {
    count(
      recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "late" }),
    );
  }
  const tag = `seed ${seed}, policy ${policy}, writeAhead ${writeAhead}`;
  const stats = recorder.stats();

  // Recorder: every record call and every checkpoint and summary it wrote is counted exactly once.
  const skipped = Object.values(stats.skipped.byKind).reduce((sum, n) => sum + n, 0);
  const ownEvents = stats.recorded["chain.checkpoint"] + stats.recorded["record.summary"];
  expect(stats.accepted + stats.dropped + stats.failed + stats.invalid + skipped, tag).toBe(
    calls + ownEvents,
  );
  // The record calls' own outcomes: checkpoints and summaries are counted in stats() only.
  expect(outcomes.accepted - skipped, tag).toBeLessThanOrEqual(stats.accepted);
  expect(outcomes.dropped, tag).toBeLessThanOrEqual(stats.dropped);
  expect(outcomes.failed - stats.invalid, tag).toBeLessThanOrEqual(stats.failed);
  const handed = Object.values(stats.recorded).reduce((sum, n) => sum + n, 0);

  // Multi emitter: what the Recorder handed over; its sinks got all but what it dropped as closed.
  const multi = stats.emitter;
  expect(multi.emitted + droppedTotal(multi) + multi.failed, tag).toBe(handed);
  const toSinks = handed - (multi.dropped.closed ?? 0);
  const [logStats, noopStats, memoryStats, deliveryStats] = multi.sinks ?? [];
  for (const sinkStats of [logStats, noopStats, memoryStats]) {
    if (sinkStats === undefined) throw new Error("missing sink stats");
    expect(sinkStats.emitted + droppedTotal(sinkStats) + sinkStats.failed, `${tag}: ${sinkStats.name}`).toBe(
      toSinks,
    );
  }
  expect(memory.events.length, tag).toBe(memoryStats?.emitted);
  const logLines = fs
    .readFileSync(logPath, "utf8")
    .split("\n")
    .filter((line) => line !== "");
  expect(logLines.length, tag).toBe(logStats?.emitted);

  // Delivery: every event handed over is delivered once, left in the spool, dropped or failed.
  const d = deliveryStats as DeliveryStats;
  const left = spoolIds(spoolPath);
  const duplicates = [...written.entries()].filter(([, n]) => n > 1).map(([id]) => id);
  expect(duplicates, tag).toEqual([]);
  expect(d.delivered, tag).toBe(written.size);
  expect(
    left.filter((id) => written.has(id)),
    tag,
  ).toEqual([]);
  expect(written.size + left.length + droppedTotal(d) + d.failed, tag).toBe(toSinks);
  // Its Emitter counters: every emit is in emitted, dropped or failed by its outcome; an accepted event
  // dropped later is in dropped too, and droppedAfterAccept takes it out again.
  expect(d.accepted, tag).toBe(d.emitted);
  expect(d.emitted + droppedTotal(d) - d.droppedAfterAccept + d.failed, tag).toBe(toSinks);
  expect(d.emitted, tag).toBe(written.size + left.length + d.droppedAfterAccept);
  // onError heard of every drop by the end of close (those after close are no news), with its reason.
  const { closed: _, ...warned } = d.dropped;
  expect(reportedDrops(warnings), tag).toStrictEqual(warned);
  const handedIds = new Set(memory.events.map((event) => event.eventId));
  for (const id of [...written.keys(), ...left]) expect(handedIds.has(id), `${tag}: ${id}`).toBe(true);
  expect(d.queueEvents + d.parkedEvents, tag).toBe(0);
  expect(d.spoolEvents, tag).toBe(left.length);
  const deliveryResult = report.results.find((result) => result.emitter === "scheduled");
  expect(deliveryResult?.pending ?? 0, tag).toBe(left.length);
  expect(report.pending ?? 0, tag).toBe(left.length);

  // The next process replays the spool, exactly what was left.
  const next = scheduledSink(() => 0.99);
  const replay = createDeliveryEmitter({ sink: next.sink, flushIntervalMs: 0, spool: { path: spoolPath } });
  const replayReport = await replay.close({ timeoutMs: 5000 });
  expect([...next.written.keys()], tag).toEqual(left);
  expect(replayReport.pending, tag).toBe(0);
  expect(replay.stats().replayed, tag).toBe(left.length);

  // Summaries: a refused summary's counts go into the next one, with the same `since`; so the last
  // summary of each window holds that window's counts, and those sum to the skips.
  const lastOfWindow = new Map<string, AuditEvent>();
  for (const event of memory.events) {
    if (event.detail?.$case === "recordSummary") {
      lastOfWindow.set(String(event.detail.value.since?.getTime()), event);
    }
  }
  expect(summarized([...lastOfWindow.values()]), tag).toBe(skipped);
  // Each of those reached the sink (now or by replay), unless the delivery emitter lost it after it
  // was accepted (close found the spool full or could not commit: counted), or it is the last window's
  // summary, which close() wrote again after a flush and which was refused both times (counted).
  const reached = new Set([...sinkEvents, ...next.events].map((event) => event.eventId));
  const missing = [...lastOfWindow.values()].filter((event) => !reached.has(event.eventId));
  const lostAfterAccept = ["spool_full", "spool_error", "close_timeout"].reduce(
    (sum, reason) => sum + (d.droppedByReasonAndKind[reason]?.["record.summary"] ?? 0),
    0,
  );
  const handedSummaries = memory.events.filter((event) => event.detail?.$case === "recordSummary");
  const [beforeLast, last] = handedSummaries.slice(-2);
  const refusedTwiceAtClose =
    last !== undefined &&
    beforeLast !== undefined &&
    !reached.has(last.eventId) &&
    !reached.has(beforeLast.eventId) &&
    last.detail?.$case === "recordSummary" &&
    beforeLast.detail?.$case === "recordSummary" &&
    last.detail.value.since?.getTime() === beforeLast.detail.value.since?.getTime()
      ? 1
      : 0;
  expect(missing.length, tag).toBeLessThanOrEqual(lostAfterAccept + refusedTwiceAtClose);
}

describe("the delivery emitter's Emitter counters", () => {
  it("counts an accepted event dropped later in emitted and dropped, and in droppedAfterAccept", async () => {
    // One of each later drop: refused by the sink's write as too large, evicted (drop-oldest), parked
    // too long, left over at close without a spool (the batch being written and the queued event); and
    // drops at emit (too_large, closed).
    const sink: EventSink = {
      name: "refusing",
      maxEventBytes: 2500,
      async write(batch: readonly AuditEvent[]) {
        const big = batch.filter((event) => event.attributes.size === "big").map((event) => event.eventId);
        if (big.length > 0)
          throw new AuditEventTooLargeError("refusing", "over its limit", { eventIds: big });
        await new Promise<void>(() => {}); // never acknowledges: the rest is left for close
      },
    };
    const delivery = createDeliveryEmitter({
      sink,
      overflow: { default: "drop-oldest", "authz.decision": "park" },
      maxQueueEvents: 2,
      maxBatchEvents: 1,
      flushIntervalMs: 0,
      park: { timeoutMs: 1, maxParked: 5 },
    });
    const event = (n: number, kind: "authz" | "resourceMutation", size?: string): AuditEvent => {
      const base = sampleEvent({ kind, eventId: `e-${n}` });
      return size === undefined ? base : { ...base, attributes: { size } };
    };
    // Refused by the write. Padded (under maxEventBytes) to be the largest: emit then refuses events as
    // large as one the sink refused, and the later ones must still be accepted.
    const big = { ...event(1, "resourceMutation", "big"), operation: "o".repeat(1000) };
    expect(delivery.emit(big)).toBe("accepted");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(delivery.emit(event(2, "resourceMutation"))).toBe("accepted"); // its write hangs: left at close
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(delivery.emit(event(3, "resourceMutation"))).toBe("accepted"); // evicted by event 4
    expect(delivery.emit(event(4, "resourceMutation"))).toBe("accepted"); // left over at close
    expect(delivery.emit(event(5, "authz"))).toBe("accepted"); // parked, then timed out
    const huge = { ...event(6, "resourceMutation"), operation: "o".repeat(3000) };
    expect(delivery.emit(huge)).toBe("dropped"); // too large at emit
    await new Promise((resolve) => setTimeout(resolve, 10));
    await delivery.close({ timeoutMs: 10 });
    expect(delivery.emit(event(7, "resourceMutation"))).toBe("dropped"); // closed

    const stats = delivery.stats();
    expect(stats).toMatchObject({
      emitted: 5,
      accepted: 5,
      failed: 0,
      delivered: 0,
      dropped: { too_large: 2, queue_full: 1, park_timeout: 1, close_timeout: 2, closed: 1 },
      droppedAfterAccept: 5,
    });
    expect(stats.emitted + droppedTotal(stats) - stats.droppedAfterAccept + stats.failed).toBe(7);
  });
});

describe("accounting invariants under a faulty sink", () => {
  for (const policy of POLICIES) {
    it(`counts every event once (${policy})`, async () => {
      for (const seed of SEEDS) await run(seed, policy);
    });
  }
});
