// What audit costs a gRPC server: unary calls/s, p50/p99 latency and server CPU µs per call for each
// interceptor variant, as ratios to the no-interceptor baseline measured in the same run. Server and
// load client run in separate processes; variants alternate round by round because the machine is
// shared and noisy. Part of `npm run bench`; BENCH_ROUNDS / BENCH_DURATION_MS / BENCH_WARMUP_MS / BENCH_VARIANTS tune it. Runs compiled (dist-bench/).
import { type ChildProcess, fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, spread, writeResults } from "./results.js";
import type { LoadResult } from "./server-overhead/load.js";
import { killOnExit, startFullChainSetup } from "./server-overhead/orchestration.js";

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

type Message = Record<string, unknown>;

const { token, setup: fullSetup, standIn } = await startFullChainSetup();

// BENCH_PIN=1 runs the servers on CPU 0 and the load client on CPU 1 (with taskset), so the two never
// compete for one core. On this 2-core VM it did not narrow the spread between rounds; off by default.
const PIN = process.env.BENCH_PIN === "1";

function start(script: string, args: string[] = [], cpu = 0) {
  // BENCH_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server and client processes.
  const nodeArgs = process.env.BENCH_EXEC_ARGV?.split(" ") ?? [];
  const child: ChildProcess = fork(join(here, "server-overhead", script.replace(/\.ts$/, ".js")), args, {
    env: { ...process.env, BENCH_FULL: JSON.stringify(fullSetup) },
    ...(PIN
      ? { execPath: "taskset", execArgv: ["-c", String(cpu), process.execPath, ...nodeArgs] }
      : { execArgv: nodeArgs }),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  killOnExit(child);
  const next = <T extends Message>(key: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (message: Message) => {
        if (typeof message === "object" && message !== null && key in message) {
          child.off("message", onMessage);
          resolve(message as T);
        }
      };
      child.on("message", onMessage);
    });
  return { child, next };
}

const servers: Record<string, ReturnType<typeof start> & { port: number }> = {};
for (const variant of VARIANTS) {
  const server = start("server.ts", [variant]);
  servers[variant] = { ...server, port: (await server.next<{ port: number }>("port")).port };
}
const load = start("load.ts", [], 1);
await load.next("ready");

type Row = LoadResult & { cpuUsPerCall: number };
const rounds: Record<string, Row>[] = [];
// Round -1 warms every server up (JIT, heap growth) for WARMUP_MS and is not counted: a server's first
// seconds under load cost it up to 2.5× the CPU per call of its later rounds.
for (let round = -1; round < ROUNDS; round++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round + 1) % VARIANTS.length] as string); // rotate who goes first
  const results: Record<string, Row> = {};
  for (const variant of order) {
    const server = servers[variant];
    if (server === undefined) throw new Error(`no server for ${variant}`);
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
    results[variant] = { ...result, cpuUsPerCall: cpuUs / result.calls };
  }
  if (round < 0) {
    process.stderr.write("server overhead: warm-up round done\n");
    continue;
  }
  rounds.push(results);
  process.stderr.write(`server overhead: round ${round + 1}/${ROUNDS} done\n`);
}

const table = VARIANTS.map((variant) => {
  const values = (key: keyof Row) => rounds.map((r) => r[variant]?.[key] ?? Number.NaN);
  const ratios = (key: keyof Row) =>
    rounds.map((r) => (r[variant]?.[key] ?? Number.NaN) / (r.baseline?.[key] ?? Number.NaN));
  return {
    variant,
    "calls/s": Math.round(median(values("callsPerSec"))),
    "calls/s ×": `${median(ratios("callsPerSec")).toFixed(3)} (${spread(ratios("callsPerSec"))})`,
    "p50 ms": median(values("p50Ms")).toFixed(2),
    "p99 ms": median(values("p99Ms")).toFixed(2),
    "p99 ×": median(ratios("p99Ms")).toFixed(2),
    "CPU µs/call": median(values("cpuUsPerCall")).toFixed(1),
    "CPU ×": `${median(ratios("cpuUsPerCall")).toFixed(3)} (${spread(ratios("cpuUsPerCall"))})`,
  };
});

console.log(
  `\nServer overhead: ${ROUNDS} rounds × ${DURATION_MS} ms per variant, ${IN_FLIGHT} calls in flight, node ${process.version}${PIN ? ", servers on CPU 0, load client on CPU 1" : ""}`,
);
console.log("ratios: median over rounds (min–max), each against the baseline of the same round");
console.table(table);

// What the hash chain costs: each chained variant against its "-unchained" twin of the same round.
const chainCost = VARIANTS.filter((variant) => VARIANTS.includes(`${variant}-unchained`)).map((variant) => {
  const ratios = (key: keyof Row) =>
    rounds.map((r) => (r[variant]?.[key] ?? Number.NaN) / (r[`${variant}-unchained`]?.[key] ?? Number.NaN));
  return {
    variant,
    "calls/s × unchained": `${median(ratios("callsPerSec")).toFixed(3)} (${spread(ratios("callsPerSec"))})`,
    "CPU × unchained": `${median(ratios("cpuUsPerCall")).toFixed(3)} (${spread(ratios("cpuUsPerCall"))})`,
  };
});
if (chainCost.length > 0) {
  console.log("chain cost: chained variant / the same variant with `chain: false`, same round");
  console.table(chainCost);
}
writeResults("server-overhead", {
  rounds: ROUNDS,
  durationMs: DURATION_MS,
  inFlight: IN_FLIGHT,
  pinned: PIN,
  table,
  chainCost,
  raw: rounds,
});
for (const { child } of [...Object.values(servers), load]) child.send("exit");
console.log("OpenFGA stand-in requests:", JSON.stringify(standIn.counts));
await standIn.close();
