// Where a benchmark server's CPU goes, per call and per category (kernel, GC, JIT, runtime, builtins,
// JSON.stringify, grpc-js, pino, src/ JS, ...), on Node 24 and the running Node in the same session:
// the server-overhead benchmark's servers (server-overhead/server.ts) run with --perf-basic-prof under
// the same load (server-overhead/load.ts, 64 calls in flight); after a warm-up, `perf record -e
// cpu-clock` samples each one while the load client counts calls and the server its CPU. A category's
// µs per call is its share of the samples times the server's CPU µs per call (process.cpuUsage over the
// counted window), so perf's own overhead is spread over every row. Rounds alternate the servers.
// Needs perf (linux-perf) and permission to attach (root, or perf_event_paranoid ≤ 1).
// `npm run bench:build && node dist-bench/bench/server-profile.js`; BENCH_VARIANTS, BENCH_ROUNDS (2),
// BENCH_DURATION_MS (8000), BENCH_WARMUP_MS (15000) tune it. Writes bench/results/server-profile.json
// and keeps each server's `perf script` text in bench/results/profile/.
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchNodes } from "./node-versions.js";
import { writeResults } from "./results.js";
import type { LoadResult } from "./server-overhead/load.js";
import {
  killOnExit,
  type Message,
  nextMessage,
  startFullChainSetup,
} from "./server-overhead/orchestration.js";
import { CATEGORIES, tally } from "./server-profile/categories.js";

const here = dirname(fileURLToPath(import.meta.url));
const VARIANTS = (
  process.env.BENCH_VARIANTS ??
  "baseline,als+log,audit+log,audit+log-no-request-id,als+3log,full,full-unchained,full-failures"
).split(",");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 15000);
const IN_FLIGHT = 64;
// BENCH_PERF_CALLGRAPH=1 records call chains too and keeps each perf.data (for `perf report -g caller`).
const CALL_GRAPH = process.env.BENCH_PERF_CALLGRAPH === "1" ? ["-g"] : [];
const outDir = join(process.cwd(), "bench", "results", "profile");
mkdirSync(outDir, { recursive: true });
// --perf-basic-prof also makes V8 write an isolate-*-v8.log into the working directory: the servers get
// a temporary one, removed at the end.
const serverCwd = mkdtempSync(join(tmpdir(), "grpc-audit-profile-"));

try {
  execFileSync("perf", ["--version"]);
} catch {
  console.error("server-profile needs perf on the PATH (apt-get install -y linux-perf)");
  process.exit(2);
}

const { token, setup, standIn } = await startFullChainSetup();

function start(script: string, args: string[], execPath: string, execArgv: string[]) {
  const child: ChildProcess = fork(join(here, "server-overhead", script), args, {
    env: { ...process.env, BENCH_FULL: JSON.stringify(setup) },
    cwd: serverCwd,
    execPath,
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  killOnExit(child);
  const next = <T extends Message>(key: string) => nextMessage<T>(child, key);
  return { child, next };
}

const nodes = benchNodes();
const servers = new Map<string, ReturnType<typeof start>>();
const ports = new Map<string, number>();
for (const node of nodes) {
  for (const variant of VARIANTS) {
    const server = start("server.js", [variant], node.execPath, ["--perf-basic-prof"]);
    const { port } = await server.next<{ port: number }>("port");
    servers.set(`${node.label}/${variant}`, server);
    ports.set(`${node.label}/${variant}`, port);
  }
}
const load = start("load.js", [], process.execPath, []);
await load.next("ready");

/** One load run against `key`; with `perfOut`, perf samples the server meanwhile. */
async function run(key: string, durationMs: number, perfOut?: string) {
  const server = servers.get(key);
  if (server?.child.pid === undefined) throw new Error(`no server ${key}`);
  load.child.send({ run: { port: ports.get(key), inFlight: IN_FLIGHT, durationMs, warmupMs: 500, token } });
  await load.next("measuring");
  const perf =
    perfOut === undefined
      ? undefined
      : spawn(
          "perf",
          [
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            "999",
            ...CALL_GRAPH,
            "-p",
            `${server.child.pid}`,
            "-o",
            perfOut,
          ],
          {
            stdio: "ignore",
          },
        );
  if (perf !== undefined) await new Promise((resolve) => setTimeout(resolve, 300)); // perf attached
  server.child.send("cpu-start");
  await server.next("cpuStarted");
  load.child.send("go");
  const { result } = await load.next<{ result: LoadResult }>("result");
  server.child.send("cpu-stop");
  const { cpuUs } = await server.next<{ cpuUs: number }>("cpuUs");
  if (perf !== undefined) {
    const exited = new Promise((resolve) => perf.once("exit", resolve));
    perf.kill("SIGINT");
    await exited;
  }
  return { calls: result.calls, callsPerSec: result.callsPerSec, cpuUs };
}

const keys = [...servers.keys()];
for (const key of keys) await run(key, WARMUP_MS);
process.stderr.write("server profile: warm-up done\n");

/** Per server: calls and CPU summed over the rounds, samples per category. */
interface Sum {
  calls: number;
  cpuUs: number;
  total: number;
  samples: Map<string, number>;
  src: Map<string, number>;
}
const sums = new Map<string, Sum>();
const unknown = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  const order = keys.map((_, i) => keys[(i + round) % keys.length] as string);
  for (const key of order) {
    const data = join(outDir, `${key.replace("/", "-")}-${round}.data`);
    const measured = await run(key, DURATION_MS, data);
    const script = execFileSync("perf", ["script", "-G", "-i", data, "-F", "comm,tid,ip,sym,dso"], {
      maxBuffer: 1024 * 1024 * 1024,
      stdio: ["ignore", "pipe", "ignore"],
    }).toString();
    writeFileSync(data.replace(/\.data$/, ".txt"), script);
    if (CALL_GRAPH.length === 0) rmSync(data);
    const { counts, total, unknown: other, src } = tally(script);
    const sum = sums.get(key) ?? { calls: 0, cpuUs: 0, total: 0, samples: new Map(), src: new Map() };
    sum.calls += measured.calls;
    sum.cpuUs += measured.cpuUs;
    sum.total += total;
    for (const [category, n] of counts) sum.samples.set(category, (sum.samples.get(category) ?? 0) + n);
    for (const [sym, n] of other) unknown.set(sym, (unknown.get(sym) ?? 0) + n);
    for (const [sym, n] of src) sum.src.set(sym, (sum.src.get(sym) ?? 0) + n);
    sums.set(key, sum);
  }
  process.stderr.write(`server profile: round ${round + 1}/${ROUNDS} done\n`);
}

const results: Record<string, unknown> = {};
for (const node of nodes) {
  const table: Record<string, Record<string, string>> = {};
  for (const variant of VARIANTS) {
    const sum = sums.get(`${node.label}/${variant}`);
    if (sum === undefined) continue;
    const cpuPerCall = sum.cpuUs / sum.calls;
    const column: Record<string, string> = {};
    for (const category of CATEGORIES)
      column[category] = (((sum.samples.get(category) ?? 0) / sum.total) * cpuPerCall).toFixed(1);
    column["total CPU µs/call"] = cpuPerCall.toFixed(1);
    column.samples = String(sum.total);
    column.calls = String(sum.calls);
    column["calls/s"] = ((sum.calls / (ROUNDS * DURATION_MS)) * 1000).toFixed(0);
    table[variant] = column;
  }
  console.log(
    `\nServer CPU µs per call by category, servers on node ${node.version}, ${ROUNDS} rounds × ${DURATION_MS} ms, ${IN_FLIGHT} calls in flight`,
  );
  // Categories as rows, variants as columns: the layout of docs/performance.md.
  const rows = Object.fromEntries(
    Object.keys(table[VARIANTS[0] ?? ""] ?? {}).map((row) => [
      row,
      Object.fromEntries(VARIANTS.map((variant) => [variant, table[variant]?.[row] ?? ""])),
    ]),
  );
  console.table(rows);
  // The grpc-audit functions that take the most samples, per variant: µs per call each (self time).
  const srcTop: Record<string, Record<string, string>> = {};
  for (const variant of VARIANTS) {
    const sum = sums.get(`${node.label}/${variant}`);
    if (sum === undefined || sum.src.size === 0) continue;
    const perSample = sum.cpuUs / sum.calls / sum.total;
    const top = [...sum.src].sort((a, b) => b[1] - a[1]).slice(0, 15);
    srcTop[variant] = Object.fromEntries(top.map(([sym, n]) => [sym, (n * perSample).toFixed(2)]));
    console.log(`src/ functions, ${variant} on node ${node.version}, µs per call (self):`, srcTop[variant]);
  }
  results[node.label] = { node: node.version, table, srcTop };
}
const topOther = [...unknown].sort((a, b) => b[1] - a[1]).slice(0, 15);
if (topOther.length > 0) console.log("most frequent uncategorized symbols:", topOther);
writeResults("server-profile", { rounds: ROUNDS, durationMs: DURATION_MS, inFlight: IN_FLIGHT, ...results });
for (const { child } of [...servers.values(), load]) child.send("exit");
await standIn.close();
// --perf-basic-prof leaves /tmp/perf-PID.map behind for each server; perf report needs them for the kept
// perf.data files of BENCH_PERF_CALLGRAPH=1.
if (CALL_GRAPH.length === 0) {
  for (const { child } of servers.values()) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
}
rmSync(serverCwd, { recursive: true, force: true });
