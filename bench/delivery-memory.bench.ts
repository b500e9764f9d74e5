// Memory of the delivery pipeline behind a sink that hangs: events are emitted at a steady rate
// (default 5,000/s for 30 s) while no write ever finishes, so the queue fills to maxQueueBytes and
// then drops. Heap growth (heapUsed + external, after a full GC) is sampled every 500 ms; it must stay
// within maxQueueBytes + 20 %. Not part of `npm run bench`; run it with
//   npm run bench:build && node dist-bench/bench/delivery-memory.bench.js
// BENCH_DELIVERY_DURATION_MS, BENCH_DELIVERY_RATE and BENCH_DELIVERY_QUEUE_BYTES tune it.
// test/delivery/memory.test.ts runs it for 5 s as a child process and reads the result
// from the IPC channel instead of bench/results/.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createDeliveryEmitter } from "../src/delivery/index.js";
import type { EventSink } from "../src/emitters/sink.js";
import { sampleEvent } from "../test/helpers/events.js";
import { writeResults } from "./results.js";

const DURATION_MS = Number(process.env.BENCH_DELIVERY_DURATION_MS ?? 30_000);
const RATE = Number(process.env.BENCH_DELIVERY_RATE ?? 5000);
const QUEUE_BYTES = Number(process.env.BENCH_DELIVERY_QUEUE_BYTES ?? 4 * 1024 * 1024);
const TICK_MS = 10;
const SAMPLE_MS = 500;

// A full GC without starting node with --expose-gc.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heap(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** A sink whose writes never finish (until the pipeline aborts them at writeTimeoutMs). */
const hungSink: EventSink = {
  name: "hung",
  write: (_batch, options) =>
    new Promise((_resolve, reject) => {
      options?.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
    }),
};

const ackingSink: EventSink = { name: "acking", write: async () => {} };

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let sequence = 0;
const nextEvent = () => sampleEvent({ eventId: `m-${String(++sequence).padStart(9, "0")}` });

/** Emits RATE events per second for `ms` through `emit`, calling `sample` every SAMPLE_MS. */
async function drive(ms: number, emit: (n: number) => void, sample: () => void): Promise<void> {
  const started = Date.now();
  let emitted = 0;
  let lastSample = started;
  while (Date.now() - started < ms) {
    await delay(TICK_MS);
    const due = Math.floor(((Date.now() - started) * RATE) / 1000) - emitted;
    emit(due);
    emitted += due;
    if (Date.now() - lastSample >= SAMPLE_MS) {
      lastSample = Date.now();
      sample();
    }
  }
}

// Warm up the code paths (encode, decode, queue, batching) with a sink that takes everything.
const warm = createDeliveryEmitter({
  sink: ackingSink,
  maxQueueBytes: QUEUE_BYTES,
  maxQueueEvents: 1_000_000,
});
await drive(
  1000,
  (n) => {
    for (let i = 0; i < n; i++) warm.emit(nextEvent());
  },
  () => {},
);
await warm.close();

const emitter = createDeliveryEmitter({
  sink: hungSink,
  maxQueueBytes: QUEUE_BYTES,
  // Bytes, not the event count, are the binding bound here.
  maxQueueEvents: 1_000_000,
  maxBatchEvents: 64,
  writeTimeoutMs: 10_000,
});
const baseline = heap();
const growth: number[] = [];
await drive(
  DURATION_MS,
  (n) => {
    for (let i = 0; i < n; i++) emitter.emit(nextEvent());
  },
  () => growth.push(heap() - baseline),
);
growth.push(heap() - baseline);
const stats = emitter.stats();
const result = {
  durationMs: DURATION_MS,
  rate: RATE,
  maxQueueBytes: QUEUE_BYTES,
  queueBytes: stats.queueBytes,
  queueEvents: stats.queueEvents,
  accepted: stats.accepted,
  dropped: stats.dropped,
  maxGrowthBytes: Math.max(...growth),
  finalGrowthBytes: growth.at(-1) ?? 0,
  limitBytes: Math.floor(QUEUE_BYTES * 1.2),
};
await emitter.close({ timeoutMs: 100 });

if (process.send !== undefined) {
  process.send(result);
  process.disconnect();
} else {
  console.log(`grpc-audit delivery pipeline, node ${process.version}`);
  console.table([
    { name: "Delivery/hung-sink/heap-growth", ...result, dropped: JSON.stringify(result.dropped) },
  ]);
  writeResults("delivery-memory", result);
  if (result.maxGrowthBytes > result.limitBytes) process.exitCode = 1;
}
