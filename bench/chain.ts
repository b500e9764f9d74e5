// In-process cost per event of the tamper-evident chain: the same resource mutation recorded by a
// Recorder into a noop emitter without the chain, with it, and with it plus a signed checkpoint every
// 1000 events (the default); and what verifying costs per event. Ratios against the unchained
// Recorder, in the same run.
import { generateKeyPairSync, hash } from "node:crypto";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Bench } from "tinybench";
import { chainHash } from "../src/chain/canonical.js";
import { verifyChains } from "../src/chain/verify.js";
import { createMemoryEmitter } from "../src/emitters/memory-emitter.js";
import { encodeEvent } from "../src/event/serialize.js";
import { AuditEvent } from "../src/gen/grpcaudit/v1/event.js";
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

// The encode under the hash, on one recorded event (a chained resource mutation, hash emptied as the
// Recorder hashes it): ts-proto's generated encoder with a reused writer (what encodeEvent was) against
// the hand-written one, and the SHA-256 alone.
const sample = memory.events.find((e) => e.detail?.$case === "resourceMutation");
if (sample?.chain === undefined) throw new Error("the bench trail has no chained resource mutation");
const hashless = { ...sample, chain: { ...sample.chain, hash: "" } };
const writer = new BinaryWriter();
const sampleBytes = encodeEvent(hashless);
const encodeBench = new Bench({
  name: "encode",
  time: Number(process.env.BENCH_TIME_MS ?? 1500),
  warmupTime: 300,
});
encodeBench
  .add("ts-proto AuditEvent.encode (baseline)", () => {
    sink += AuditEvent.encode(hashless, writer).finish().length;
  })
  .add("encodeEvent (hand-written)", () => {
    sink += encodeEvent(hashless).length;
  })
  .add("sha256 hex of the bytes", () => {
    sink += hash("sha256", sampleBytes, "hex").length;
  })
  .add("chainHash (encode + sha256)", () => {
    sink += chainHash(hashless).length;
  });
await encodeBench.run();
const encodeP50 = (name: string) => {
  const result = encodeBench.tasks.find((t) => t.name === name)?.result as
    | { latency?: { mean?: number; p50?: number } }
    | undefined;
  return (result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000;
};
const encodeBase = encodeP50("ts-proto AuditEvent.encode (baseline)");
const encodeTable = encodeBench.tasks.map(({ name }) => ({
  task: name,
  "µs (p50)": encodeP50(name).toFixed(3),
  "× ts-proto encode": (encodeP50(name) / encodeBase).toFixed(2),
}));
console.log(
  `\nIn-process cost per recorded event (noop emitter), node ${process.version} (${sink} accepted)`,
);
console.table(table);
console.log(`verifyChains: ${verifyUs.toFixed(2)} µs/event (best of 5 over ${memory.events.length} events)`);
console.log(`\nEncoding one ${sampleBytes.length}-byte event`);
console.table(encodeTable);
writeResults("chain", { table, verifyUsPerEvent: verifyUs, encode: encodeTable });
