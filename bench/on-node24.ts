// Runs compiled in-process benchmarks on Node 24 too: `node dist-bench/bench/on-node24.js
// interceptor-chain.js chain.js` (npm run bench does, before running them on the machine's Node). Each
// runs in its own process, as it would alone; results go to bench/results/node24/.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findNode24 } from "./node-versions.js";

const here = dirname(fileURLToPath(import.meta.url));
const node24 = findNode24(); // undefined: it said so, and the machine's Node runs them next anyway
const scripts = process.argv.slice(2);
if (node24 !== undefined && node24.execPath !== process.execPath) {
  for (const script of scripts) {
    const { status } = spawnSync(node24.execPath, [join(here, script)], {
      stdio: "inherit",
      env: { ...process.env, BENCH_RESULTS_DIR: join(process.cwd(), "bench", "results", "node24") },
    });
    if (status !== 0) throw new Error(`${script} on ${node24.version} exited with ${status}`);
  }
}
