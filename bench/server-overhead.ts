// What audit costs a gRPC server: unary calls/s, p50/p99 latency and server CPU µs per call for each
// interceptor variant, as ratios to the no-interceptor baseline measured in the same run. Server and
// load client run in separate processes; variants alternate round by round because the machine is
// shared and noisy. Every variant runs on Node 24 (the headline; see node-versions.ts) and on the Node
// that runs this script, in the same rounds, each against its own Node's baseline; the load client
// runs on this script's Node for both. Part of `npm run bench`; BENCH_ROUNDS / BENCH_DURATION_MS /
// BENCH_WARMUP_MS / BENCH_VARIANTS tune it. Runs compiled (dist-bench/).
import { type ChildProcess, fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchNode, benchNodes } from "./node-versions.js";
import { median, spread, writeResults } from "./results.js";
import type { LoadResult } from "./server-overhead/load.js";
import {
  killOnExit,
  type Message,
  nextMessage,
  startFullChainSetup,
} from "./server-overhead/orchestration.js";

const here = dirname(fileURLToPath(import.meta.url));
const VARIANTS = (
  process.env.BENCH_VARIANTS ??
  "baseline,pass-through,als-only,log-only,als+log,audit+noop,audit+log,audit+log-unchained,als+3log,authn+log,full,full-unchained,full-failures"
).split(",");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
// V8 goes on compiling a server's hot code for 15-20 s of load (on background threads, whose CPU
// process.cpuUsage counts); the full chain has the most code, so a short warm-up overstated its cost.
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 15000);
const IN_FLIGHT = 64;

const NODES = benchNodes();
const { token, setup: fullSetup, standIn } = await startFullChainSetup();

// BENCH_PIN=1 runs the servers on CPU 0 and the load client on CPU 1 (with taskset), so the two never
// compete for one core. On this 2-core VM it did not narrow the spread between rounds; off by default.
const PIN = process.env.BENCH_PIN === "1";

function start(script: string, args: string[] = [], cpu = 0, node = process.execPath) {
  // BENCH_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server and client processes.
  const nodeArgs = process.env.BENCH_EXEC_ARGV?.split(" ") ?? [];
  const child: ChildProcess = fork(join(here, "server-overhead", script.replace(/\.ts$/, ".js")), args, {
    env: { ...process.env, BENCH_FULL: JSON.stringify(fullSetup) },
    ...(PIN
      ? { execPath: "taskset", execArgv: ["-c", String(cpu), node, ...nodeArgs] }
      : { execPath: node, execArgv: nodeArgs }),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  killOnExit(child);
  const next = <T extends Message>(key: string) => nextMessage<T>(child, key);
  return { child, next };
}

/** One server process: a variant on one Node, keyed "node24/full". */
const SERVERS = NODES.flatMap((node) => VARIANTS.map((variant) => `${node.label}/${variant}`));
const servers: Record<string, ReturnType<typeof start> & { port: number }> = {};
for (const node of NODES) {
  for (const variant of VARIANTS) {
    const server = start("server.ts", [variant], 0, node.execPath);
    const started = await server.next<{ port: number; node: string }>("port");
    if (started.node !== node.version)
      throw new Error(`${variant} runs on ${started.node}, not ${node.version}`);
    servers[`${node.label}/${variant}`] = { ...server, port: started.port };
  }
}
const load = start("load.ts", [], 1);
await load.next("ready");

type Row = LoadResult & { cpuUsPerCall: number };
const rounds: Record<string, Row>[] = [];
// Round -1 warms every server up (JIT, heap growth) for WARMUP_MS and is not counted: a server's first
// seconds under load cost it up to 2.5× the CPU per call of its later rounds.
for (let round = -1; round < ROUNDS; round++) {
  const order = SERVERS.map((_, i) => SERVERS[(i + round + 1) % SERVERS.length] as string); // rotate who goes first
  const results: Record<string, Row> = {};
  for (const key of order) {
    const server = servers[key];
    if (server === undefined) throw new Error(`no server for ${key}`);
    load.child.send({
      run: {
        port: server.port,
        inFlight: IN_FLIGHT,
        durationMs: round < 0 ? WARMUP_MS : DURATION_MS,
        warmupMs: 500,
        token,
      },
    });
    await load.next("measuring");
    server.child.send("cpu-start");
    await server.next("cpuStarted");
    load.child.send("go");
    const { result } = await load.next<{ result: LoadResult }>("result");
    server.child.send("cpu-stop");
    const { cpuUs } = await server.next<{ cpuUs: number }>("cpuUs");
    results[key] = { ...result, cpuUsPerCall: cpuUs / result.calls };
  }
  if (round < 0) {
    process.stderr.write("server overhead: warm-up round done\n");
    continue;
  }
  rounds.push(results);
  process.stderr.write(`server overhead: round ${round + 1}/${ROUNDS} done\n`);
}

/** a / b in each round (a, b: server keys), as "median (min–max)" over the rounds. */
function ratio(a: string, b: string, field: keyof Row, digits = 3): string {
  const values = rounds.map((r) => (r[a]?.[field] ?? Number.NaN) / (r[b]?.[field] ?? Number.NaN));
  return `${median(values).toFixed(digits)} (${spread(values)})`;
}

/** Every variant on `node` against that Node's baseline of the same round. */
function overheadTable(node: BenchNode) {
  const base = `${node.label}/baseline`;
  return VARIANTS.map((variant) => {
    const key = `${node.label}/${variant}`;
    const values = (field: keyof Row) => rounds.map((r) => r[key]?.[field] ?? Number.NaN);
    return {
      variant,
      "calls/s": Math.round(median(values("callsPerSec"))),
      "calls/s ×": ratio(key, base, "callsPerSec"),
      "p50 ms": median(values("p50Ms")).toFixed(2),
      "p99 ms": median(values("p99Ms")).toFixed(2),
      "p99 ×": ratio(key, base, "p99Ms", 2),
      "CPU µs/call": median(values("cpuUsPerCall")).toFixed(1),
      "CPU ×": ratio(key, base, "cpuUsPerCall"),
    };
  });
}

/** What the hash chain costs: each chained variant against its "-unchained" twin of the same round. */
function chainCostTable(node: BenchNode) {
  return VARIANTS.filter((variant) => VARIANTS.includes(`${variant}-unchained`)).map((variant) => {
    const [chained, unchained] = [`${node.label}/${variant}`, `${node.label}/${variant}-unchained`];
    return {
      variant,
      "calls/s × unchained": ratio(chained, unchained, "callsPerSec"),
      "CPU × unchained": ratio(chained, unchained, "cpuUsPerCall"),
    };
  });
}

const pinned = PIN ? ", servers on CPU 0, load client on CPU 1" : "";
const results: Record<string, unknown> = {};
for (const [i, node] of NODES.entries()) {
  const table = overheadTable(node);
  const chainCost = chainCostTable(node);
  console.log(
    `\nServer overhead, servers on node ${node.version}${i === 0 && NODES.length > 1 ? " (headline)" : ""}: ${ROUNDS} rounds × ${DURATION_MS} ms per variant, ${IN_FLIGHT} calls in flight, load client on node ${process.version}${pinned}`,
  );
  console.log(
    "ratios: median over rounds (min–max), each against the baseline on the same Node in the same round",
  );
  console.table(table);
  if (chainCost.length > 0) {
    console.log("chain cost: chained variant / the same variant with `chain: false`, same round");
    console.table(chainCost);
  }
  results[node.label] = { node: node.version, table, chainCost };
}
// The same variant on both Nodes, same round: what moving to Node 24 changes for each.
const [newer, older] = NODES;
if (newer !== undefined && older !== undefined) {
  const versus = VARIANTS.map((variant) => {
    const [a, b] = [`${newer.label}/${variant}`, `${older.label}/${variant}`];
    return {
      variant,
      [`calls/s ${newer.label} / ${older.label}`]: ratio(a, b, "callsPerSec"),
      [`CPU µs/call ${newer.label} / ${older.label}`]: ratio(a, b, "cpuUsPerCall"),
    };
  });
  console.log(`\n${newer.version} against ${older.version}: the same variant, same round`);
  console.table(versus);
  results.versus = versus;
}
writeResults("server-overhead", {
  rounds: ROUNDS,
  durationMs: DURATION_MS,
  inFlight: IN_FLIGHT,
  pinned: PIN,
  nodes: NODES.map((node) => node.version),
  ...results,
  raw: rounds,
});
for (const { child } of [...Object.values(servers), load]) child.send("exit");
console.log("OpenFGA stand-in requests:", JSON.stringify(standIn.counts));
await standIn.close();
