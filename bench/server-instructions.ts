// Server overhead counted in instructions: the benchmark server (server-overhead/server.ts) runs under
// valgrind's callgrind, which counts the instructions it executes instead of timing them. Counts still
// move between runs: how many requests arrive per read, and when background JIT compilation and GC run,
// change with timing. After
// BENCH_WARMUP_CALLS calls (the JIT has tiered up) the counters are zeroed, BENCH_MEASURED_CALLS calls
// (64 in flight) are counted, and the instructions per call are reported per variant, with the ratio to
// the baseline and a split into GC, JIT compilation, builtins, JIT-compiled code and other native code.
// `npm run bench:instructions`; needs valgrind (`apt-get install -y valgrind`); ~2 min per variant on an
// idle machine. BENCH_VARIANTS=...,full adds the full chain (its first checks may time out under valgrind;
// failed calls are counted in the table). Background JIT compilation and GC land in the counted window
// unevenly: compare the "JS + builtins + native" part between variants, and rerun before trusting a
// difference of a few per cent.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, Metadata } from "@grpc/grpc-js";
import { ProjectServiceClient } from "../src/cli/demo/gen/example/v1/projects.js";
import { writeResults } from "./results.js";
import { killOnExit, startFullChainSetup } from "./server-overhead/orchestration.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const VARIANTS = (
  process.env.BENCH_VARIANTS ?? "baseline,pass-through,als-only,log-only,als+log,audit+noop,audit+log"
).split(",");
const WARMUP = Number(process.env.BENCH_WARMUP_CALLS ?? 8000);
const MEASURED = Number(process.env.BENCH_MEASURED_CALLS ?? 4000);
const IN_FLIGHT = 64;

try {
  execFileSync("valgrind", ["--version"]);
} catch {
  console.error("bench:instructions needs valgrind on the PATH (apt-get install -y valgrind)");
  process.exit(2);
}

const { token, setup: fullSetup, standIn } = await startFullChainSetup();
const outDir = join(process.cwd(), "bench", "results", "callgrind");

/** Self instructions per function of one callgrind dump, from callgrind_annotate. */
function functionCosts(file: string): Map<string, number> {
  const text = execFileSync("callgrind_annotate", ["--inclusive=no", "--threshold=100", file], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const costs = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (match === null || match[2]?.includes("PROGRAM TOTALS")) continue;
    const name = (match[2] ?? "").replace(/^\?\?\?:/, "").replace(/ \[[^\]]*\]$/, "");
    costs.set(name, (costs.get(name) ?? 0) + Number((match[1] ?? "0").replaceAll(",", "")));
  }
  return costs;
}

// Frames that were on the stack when the counters were zeroed show their whole subtree as self cost.
const STACK_ROOTS =
  /below main|libc_start|node::Start|NodeMainInstance|SpinEventLoop|clone\.S|start_thread|^main$|^0x0+1ab70$/;

function bucket(name: string): string {
  if (/Scaveng|Heap|heap::|Marking|Sweep|Evacuat|Pretenuring/.test(name)) return "GC";
  if (/compiler::|maglev|Compil|interpreter::|Bytecode/i.test(name)) return "JIT compile";
  if (/AsyncWrap|async_hooks|PromiseHook/i.test(name)) return "async hooks (native)";
  if (name.startsWith("Builtins_")) return "builtins";
  if (name.startsWith("0x")) return "JIT-compiled JS";
  return "other native";
}

async function measure(variant: string): Promise<{
  perCall: number;
  buckets: Record<string, number>;
  failedInWarmup: number;
  failedMeasured: number;
}> {
  const out = join(outDir, `${variant}.out`);
  const child: ChildProcess = fork(join(here, "server-overhead", "server.js"), [variant], {
    execPath: "valgrind",
    execArgv: ["--tool=callgrind", `--callgrind-out-file=${out}`, process.execPath, "--no-flush-bytecode"],
    env: { ...process.env, BENCH_FULL: JSON.stringify(fullSetup) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  killOnExit(child);
  const port = await new Promise<number>((resolve) =>
    child.on("message", (m: { port?: number }) => m.port !== undefined && resolve(m.port)),
  );
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  // A failed call is counted, not fatal: under valgrind the full chain's first OpenFGA checks can
  // outlast the authorizer's timeout (later calls are answered from the decision cache).
  let failed = 0;
  const call = () =>
    new Promise<void>((resolve) =>
      client.updateProject({ project: { id: "p-1", name: "bench", ownerId: "" } }, metadata, (error) => {
        if (error) failed++;
        resolve();
      }),
    );
  const run = async (calls: number) => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < calls) {
          sent++;
          await call();
        }
      }),
    );
  };
  await run(WARMUP);
  const failedInWarmup = failed;
  execFileSync("callgrind_control", ["--zero", String(child.pid)]);
  await run(MEASURED);
  const failedMeasured = failed - failedInWarmup;
  execFileSync("callgrind_control", ["--dump=measured", String(child.pid)]);
  client.close();
  child.send("exit");
  await new Promise((resolve) => child.on("exit", resolve));
  const dump = readdirSync(outDir).find((f) => f.startsWith(`${variant}.out.`));
  if (dump === undefined) throw new Error(`no callgrind dump for ${variant}`);
  const buckets: Record<string, number> = {};
  let total = 0;
  for (const [name, cost] of functionCosts(join(outDir, dump))) {
    if (STACK_ROOTS.test(name)) continue;
    const perCall = cost / MEASURED;
    const b = bucket(name);
    buckets[b] = (buckets[b] ?? 0) + perCall;
    total += perCall;
  }
  return { perCall: total, buckets, failedInWarmup, failedMeasured };
}

rmSync(outDir, { recursive: true, force: true });
execFileSync("mkdir", ["-p", outDir]);
const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (const variant of VARIANTS) {
  process.stderr.write(`instructions: ${variant} (${WARMUP} warm-up calls, ${MEASURED} counted)...\n`);
  results[variant] = await measure(variant);
}
await standIn.close();

const baseline = results.baseline;
const names = ["GC", "JIT compile", "builtins", "JIT-compiled JS", "other native", "async hooks (native)"];
const table = VARIANTS.map((variant) => {
  const r = results[variant];
  if (r === undefined) return { variant };
  const row: Record<string, string> = {
    variant,
    "instructions/call": `${Math.round(r.perCall / 1000)}k`,
    "×": baseline === undefined ? "" : (r.perCall / baseline.perCall).toFixed(3),
    "failed calls (warm-up/counted)": `${r.failedInWarmup}/${r.failedMeasured}`,
  };
  for (const name of names) {
    const value = r.buckets[name] ?? 0;
    const base = baseline?.buckets[name] ?? 0;
    row[name] =
      variant === "baseline" ? `${Math.round(value / 1000)}k` : `+${Math.round((value - base) / 1000)}k`;
  }
  return row;
});
console.log(
  `\nServer instructions per unary call (callgrind, ${MEASURED} calls after ${WARMUP} warm-up, ${IN_FLIGHT} in flight), node ${process.version}; buckets: baseline absolute, others added`,
);
console.table(table);
writeResults("server-instructions", { warmupCalls: WARMUP, measuredCalls: MEASURED, table, results });
process.exit(0);
