// Sink throughput: Recorder → LogEmitter against raw pino writing the same event objects, both to
// /dev/null, in the same run. Each Recorder runs as configured by default (chained) and with
// `chain: false`, each against raw pino writing its own events: the chain's encoding and SHA-256 per
// event is a cost of its own, and its field makes every line longer. (SQLite store inserts:
// bench/store.ts; NATS: bench/nats-sink.ts.)
import pino from "pino";
import { Bench } from "tinybench";
import { eventToJson } from "../src/event/serialize.js";
import { createLogEmitter, createRecorder, type LogEmitterOptions } from "../src/index.js";
import { createMemoryEmitter } from "../src/testing/index.js";
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
const logRecorder = (chain: boolean, sink: Pick<LogEmitterOptions, "logger" | "destination">) =>
  createRecorder({
    service: "bench",
    chain,
    emitters: [createLogEmitter({ ...sink, maxBufferedBytes: unbounded })],
  });

// The event such a Recorder writes, built once: raw pino pays only for serialising and writing it.
// The second one, as a chained event past the first has a `prevHash`.
function sampleEvent(chain: boolean): unknown {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "bench", chain, emitters: [memory] });
  recorder.recordResourceMutation(mutation);
  recorder.recordResourceMutation(mutation);
  return memory.events[1] === undefined ? undefined : eventToJson(memory.events[1]);
}
const raw = { chained: pino(devNull()), unchained: pino(devNull()) };
const samples = { chained: sampleEvent(true), unchained: sampleEvent(false) };

const baselines = {
  chained: { name: "Sink/log/raw-pino(chained-event)(/dev/null)", sink: "raw pino, the chained events" },
  unchained: {
    name: "Sink/log/raw-pino(unchained-event)(/dev/null)",
    sink: "raw pino, the unchained events",
  },
} as const;
// On the user's logger, then the emitter opening the file itself (lines gathered by its LineBatcher
// instead of SonicBoom's buffer); chained and unchained alternate.
const cases = [
  {
    name: "Sink/log/recorder(chained)+log-emitter(/dev/null)",
    sink: "Recorder → LogEmitter, default (chained)",
    baseline: baselines.chained,
    recorder: logRecorder(true, { logger: pino(devNull()) }),
  },
  {
    name: "Sink/log/recorder(chain:false)+log-emitter(/dev/null)",
    sink: "Recorder → LogEmitter, chain: false",
    baseline: baselines.unchained,
    recorder: logRecorder(false, { logger: pino(devNull()) }),
  },
  {
    name: "Sink/log/recorder(chained)+log-emitter-own-file(/dev/null)",
    sink: "Recorder → LogEmitter opening the file itself, default (chained)",
    baseline: baselines.chained,
    recorder: logRecorder(true, { destination: "/dev/null" }),
  },
  {
    name: "Sink/log/recorder(chain:false)+log-emitter-own-file(/dev/null)",
    sink: "Recorder → LogEmitter opening the file itself, chain: false",
    baseline: baselines.unchained,
    recorder: logRecorder(false, { destination: "/dev/null" }),
  },
];

const bench = new Bench({ name: "sinks", time: Number(process.env.BENCH_TIME_MS ?? 2000), warmupTime: 300 });
bench.add(baselines.chained.name, () => raw.chained.info({ audit: samples.chained }, "resource.mutation"));
bench.add(baselines.unchained.name, () =>
  raw.unchained.info({ audit: samples.unchained }, "resource.mutation"),
);
for (const { name, recorder } of cases) bench.add(name, () => recorder.recordResourceMutation(mutation));
await bench.run();

const opsPerSec = (name: string) => {
  const result = bench.tasks.find((t) => t.name === name)?.result as
    | { throughput?: { mean?: number } }
    | undefined;
  return result?.throughput?.mean ?? Number.NaN;
};
const table = [
  ...Object.values(baselines).map(({ name, sink }) => ({
    sink,
    "events/s": Math.round(opsPerSec(name)),
    ratio: "1.00",
  })),
  ...cases.map(({ name, sink, baseline }) => {
    const ops = opsPerSec(name);
    return { sink, "events/s": Math.round(ops), ratio: (ops / opsPerSec(baseline.name)).toFixed(2) };
  }),
];
console.log(
  `\nSink throughput (events/s, same run), node ${process.version}; each ratio against raw pino writing the same events;` +
    " target: Recorder → LogEmitter ≥ 0.8× raw pino",
);
console.table(table);
writeResults("sinks", { table });
