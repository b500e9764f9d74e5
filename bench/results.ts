// Small helpers shared by the benchmarks: statistics and the JSON results file.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Results go to bench/results/ of the checkout the benchmark was started from (npm run bench: the repo
 * root), or to BENCH_RESULTS_DIR (bench/on-node24.ts sets bench/results/node24/).
 */
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(process.cwd(), "bench", "results");

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** "min–max" of the values, two decimals. */
export function spread(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

/** Writes bench/results/<name>.json with the Node version and the time of the run. */
export function writeResults(name: string, data: Record<string, unknown>): void {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ node: process.version, at: new Date().toISOString(), ...data }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}
