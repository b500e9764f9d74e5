/**
 * A failed write's retries must not keep anything in memory once the batch is delivered. Each retry
 * used to race its wait against a promise that settled only at close(): every race added a reaction
 * to that promise for good, and the one added at a batch's first failure closed over the sink's error,
 * whose stack holds the pump's call with the batch, so every failed batch stayed in memory until close().
 *
 * Checked with WeakRefs and counts of live objects after a forced gc, not with heap sizes or timing. The
 * sink is a small in-process one that fails on command: what is checked is the pipeline's own memory.
 */
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import type { EventSink } from "../../src/emitters/sink.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { until } from "../helpers/fake-sink.js";
import { numberedEvents, tempDir } from "./helpers.js";

// vitest runs without --expose-gc: the flag can still be set at run time, and a new context's global
// `gc` is the collector of this isolate.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const BATCHES = 20;
const BATCH_EVENTS = 10;
const FAILURES_PER_BATCH = 5;

const emitters: DeliveryEmitter[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A sink that fails its next `failures` writes, then takes them, keeping WeakRefs to what it took.
 * It throws before any await, as a sink that checks its connection first does: the error's stack
 * then holds the pump's call with the batch.
 */
function flakySink(): EventSink & { failures: number; written: WeakRef<AuditEvent>[] } {
  return {
    name: "flaky",
    failures: 0,
    written: [],
    async write(events) {
      if (this.failures > 0) {
        this.failures--;
        throw new Error("sink down");
      }
      for (const event of events) this.written.push(new WeakRef(event));
    },
  };
}

function create(sink: EventSink, options: Partial<DeliveryEmitterOptions> = {}): DeliveryEmitter {
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    maxBatchEvents: BATCH_EVENTS,
    sleep: async () => {},
    random: () => 0.5,
    ...options,
  });
  emitters.push(emitter);
  return emitter;
}

/**
 * Emits BATCHES batches, one after the other, each delivered after FAILURES_PER_BATCH failed writes,
 * then one batch the sink takes at once (the pump may hold the batch it took last until it takes
 * another). Resolves to the events of the failed batches but the last: the last sink error is kept
 * (for onSinkRecovered and close's report), and with it the last failed batch.
 */
async function deliverThroughOutages(emitter: DeliveryEmitter, sink: ReturnType<typeof flakySink>) {
  for (let batch = 1; batch <= BATCHES + 1; batch++) {
    sink.failures = batch <= BATCHES ? FAILURES_PER_BATCH : 0;
    // Fresh events each time, with ids of their own; the test keeps no reference to them.
    for (const event of numberedEvents(BATCH_EVENTS, "authz", `b${batch}`)) emitter.emit(event);
    await until(() => emitter.stats().delivered === batch * BATCH_EVENTS);
  }
  expect(sink.written).toHaveLength((BATCHES + 1) * BATCH_EVENTS);
  expect(emitter.stats()).toMatchObject({
    delivered: (BATCHES + 1) * BATCH_EVENTS,
    retried: BATCHES * FAILURES_PER_BATCH,
    queueEvents: 0,
    spoolEvents: 0,
  });
  return sink.written.slice(0, (BATCHES - 1) * BATCH_EVENTS);
}

/** Runs a full gc in a later turn: a WeakRef's target is kept until the end of the job that read it. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await nextTurn();
    gc();
  }
}

/** The ids of the events still in memory after a full gc. */
async function alive(refs: WeakRef<AuditEvent>[]): Promise<string[]> {
  await collect();
  return refs.flatMap((ref) => ref.deref()?.eventId ?? []);
}

describe("retry retention", () => {
  it("frees each batch delivered after failed writes before close()", async () => {
    const sink = flakySink();
    const emitter = create(sink);

    const failed = await deliverThroughOutages(emitter, sink);

    expect(await alive(failed)).toStrictEqual([]);
  });

  it("frees each spooled batch delivered after failed writes before close()", async () => {
    const { dir, remove } = tempDir("retry-retention");
    cleanups.push(remove);
    const sink = flakySink();
    const emitter = create(sink, { spool: { path: path.join(dir, "spool.db"), writeAhead: true } });

    const failed = await deliverThroughOutages(emitter, sink);

    expect(emitter.stats().replayed).toBe((BATCHES + 1) * BATCH_EVENTS);
    expect(await alive(failed)).toStrictEqual([]);
  });

  it("leaves no promise behind for each retry while the sink is down", async () => {
    const retries = 2000;
    const sink = flakySink();
    const emitter = create(sink);
    // One batch delivered first, so the count below starts with the pipeline warmed up.
    for (const event of numberedEvents(1, "authz", "warm")) emitter.emit(event);
    await until(() => emitter.stats().delivered === 1);
    await collect();
    const before = v8.queryObjects(Promise, { format: "count" });

    sink.failures = retries;
    for (const event of numberedEvents(1)) emitter.emit(event);
    await until(() => emitter.stats().delivered === 2);
    await collect();
    const after = v8.queryObjects(Promise, { format: "count" });

    expect(emitter.stats().retried).toBe(retries);
    // Not an exact count: the test's own awaits come and go. One per retry is what is ruled out.
    expect(after - before).toBeLessThan(retries / 10);
  });
});
