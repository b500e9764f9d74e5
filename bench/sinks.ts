// Sink throughput: Recorder → LogEmitter against raw pino writing the same event objects, both to
// /dev/null, in the same run. (SQLite store inserts: bench/store.ts; NATS: not measured yet.)
import pino from "pino";
import { Bench } from "tinybench";
import { eventToJson } from "../src/event/serialize.js";
import { createLogEmitter, createRecorder } from "../src/index.js";
import { writeResults } from "./results.js";

const mutation = {
  mutation: "update",
  resourceType: "project",
  resourceId: "p-42",
  operation: "/example.v1.ProjectService/UpdateProject",
  actor: { id: "alice" },
  requestId: "req-1",
} as const;

const devNull = () => pino.destination({ dest: "/dev/null", sync: false, minLength: 8192 });
// tinybench never yields to the event loop, so no asynchronous write completes while it runs: without
// a bound, as raw pino has none, the emitters measure writing rather than dropping (buffer_full).
const unbounded = Number.POSITIVE_INFINITY;
const recorder = createRecorder({
  service: "bench",
  emitters: [createLogEmitter({ logger: pino(devNull()), maxBufferedBytes: unbounded })],
});
const raw = pino(devNull());
// The emitter opening the file itself: lines gathered by its LineBatcher instead of SonicBoom's buffer.
const owning = createRecorder({
  service: "bench",
  emitters: [createLogEmitter({ destination: "/dev/null", maxBufferedBytes: unbounded })],
});
// The same event the recorder writes, built once: raw pino pays only for serialising and writing it.
let sample: unknown;
{
  const memory = (await import("../src/testing/index.js")).createMemoryEmitter();
  createRecorder({ service: "bench", emitters: [memory] }).recordResourceMutation(mutation);
  sample = memory.events[0] === undefined ? undefined : eventToJson(memory.events[0]);
}

const bench = new Bench({ name: "sinks", time: Number(process.env.BENCH_TIME_MS ?? 2000), warmupTime: 300 });
bench.add("Sink/log/raw-pino(/dev/null)", () => raw.info({ audit: sample }, "resource.mutation"));
bench.add("Sink/log/recorder+log-emitter(/dev/null)", () => recorder.recordResourceMutation(mutation));
bench.add("Sink/log/recorder+log-emitter-own-file(/dev/null)", () => owning.recordResourceMutation(mutation));
await bench.run();

const opsPerSec = (name: string) => {
  const result = bench.tasks.find((t) => t.name === name)?.result as
    | { throughput?: { mean?: number } }
    | undefined;
  return result?.throughput?.mean ?? Number.NaN;
};
const rawOps = opsPerSec("Sink/log/raw-pino(/dev/null)");
const ours = opsPerSec("Sink/log/recorder+log-emitter(/dev/null)");
const ownFile = opsPerSec("Sink/log/recorder+log-emitter-own-file(/dev/null)");
const table = [
  { sink: "raw pino, same objects", "events/s": Math.round(rawOps), ratio: "1.00" },
  { sink: "Recorder → LogEmitter", "events/s": Math.round(ours), ratio: (ours / rawOps).toFixed(2) },
  {
    sink: "Recorder → LogEmitter opening the file itself",
    "events/s": Math.round(ownFile),
    ratio: (ownFile / rawOps).toFixed(2),
  },
];
console.log(
  `\nSink throughput (events/s, same run), node ${process.version}; target: Recorder → LogEmitter ≥ 0.8× raw pino`,
);
console.table(table);
writeResults("sinks", { table });
