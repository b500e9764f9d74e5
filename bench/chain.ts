// In-process cost per event of the tamper-evident chain: the same resource mutation recorded by a
// Recorder into a noop emitter without the chain, with it, and with it plus a signed checkpoint every
// 1000 events (the default); and what verifying costs per event. Ratios against the unchained
// Recorder, in the same run.
import { generateKeyPairSync } from "node:crypto";
import { Bench } from "tinybench";
import { verifyChains } from "../src/chain/verify.js";
import { createMemoryEmitter } from "../src/emitters/memory-emitter.js";
import { createNoopEmitter, createRecorder, type Recorder, type RecorderOptions } from "../src/index.js";
import { writeResults } from "./results.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const signed = { signingKey: privateKey, keyId: "bench" };

function recorder(chain: NonNullable<RecorderOptions["chain"]>): Recorder {
  return createRecorder({ service: "projects", emitters: [createNoopEmitter()], chain });
}

const cases: Record<string, Recorder> = {
  unchained: recorder(false),
  chained: recorder(true),
  "chained+signed": recorder(signed),
};

let i = 0;
const record = (r: Recorder) =>
  r.recordResourceMutation({
    mutation: "update",
    resourceType: "project",
    resourceId: `p-${++i}`,
    actor: { id: "alice" },
    operation: "/example.v1.ProjectService/UpdateProject",
  });

const bench = new Bench({ name: "chain", time: Number(process.env.BENCH_TIME_MS ?? 1500), warmupTime: 300 });
let sink = 0; // consumed, so V8 cannot drop the calls
for (const [name, r] of Object.entries(cases)) {
  bench.add(`Recorder/resourceMutation/${name}`, () => {
    sink += record(r) === "accepted" ? 1 : 0;
  });
}
await bench.run();

// Verifying: a trail of 20,000 events, read from memory (no store or file in the measurement).
const memory = createMemoryEmitter({ capacity: 30_000 });
const source = createRecorder({ service: "projects", emitters: [memory], chain: signed });
for (let n = 0; n < 20_000; n++) record(source);
await source.close();
const runs: number[] = [];
for (let run = 0; run < 5; run++) {
  const started = process.hrtime.bigint();
  const report = await verifyChains(memory.events, { publicKeys: new Map([["bench", publicKey]]) });
  runs.push(Number(process.hrtime.bigint() - started) / 1000 / memory.events.length);
  if (!report.ok) throw new Error("the bench trail does not verify");
}

const p50Us = (name: string) => {
  const task = bench.tasks.find((t) => t.name === `Recorder/resourceMutation/${name}`);
  const result = task?.result as { latency?: { mean?: number; p50?: number } } | undefined;
  return (result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000;
};
const base = p50Us("unchained");
const table = Object.keys(cases).map((name) => ({
  recorder: name,
  "µs/event (p50)": p50Us(name).toFixed(2),
  "added µs": (p50Us(name) - base).toFixed(2),
  "× unchained": (p50Us(name) / base).toFixed(2),
}));
const verifyUs = Math.min(...runs);
console.log(
  `\nIn-process cost per recorded event (noop emitter), node ${process.version} (${sink} accepted)`,
);
console.table(table);
console.log(`verifyChains: ${verifyUs.toFixed(2)} µs/event (best of 5 over ${memory.events.length} events)`);
writeResults("chain", { table, verifyUsPerEvent: verifyUs });
