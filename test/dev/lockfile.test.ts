// `npm install` on a fresh clone leaves package-lock.json as committed. The registry here serves only
// this platform's optional binaries, so scripts/complete-lockfile.mjs (run by .ci/run) adds skip-only
// entries for the others; it writes them exactly as npm does, so the next `npm install` changes nothing.
// Checked on a copy of the package files, offline, with an empty npm cache.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const committed = readFileSync(join(REPO, "package-lock.json"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "grpc-audit-lock-"));
const lockFile = join(dir, "package-lock.json");
let completion = "";
let completed = "";

/** What this test reads of a lock entry. */
interface LockEntry {
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  integrity?: string;
  resolved?: string;
}

/** The committed lock without the entries complete-lockfile adds (npm here leaves them out), and their count. */
function withoutSkipOnlyEntries(text: string): { text: string; removed: number } {
  const lock = JSON.parse(text) as { packages: Record<string, LockEntry> };
  let removed = 0;
  for (const [location, entry] of Object.entries(lock.packages)) {
    const skipOnly = entry.optional === true && (entry.os ?? entry.cpu) !== undefined;
    if (skipOnly && entry.integrity === undefined && entry.resolved === undefined) {
      delete lock.packages[location];
      removed++;
    }
  }
  return { text: `${JSON.stringify(lock, null, 2)}\n`, removed };
}

const stripped = withoutSkipOnlyEntries(committed);

beforeAll(async () => {
  cpSync(join(REPO, "package.json"), join(dir, "package.json"));
  mkdirSync(join(dir, "packages/protoc-gen-grpc-audit"), { recursive: true });
  cpSync(
    join(REPO, "packages/protoc-gen-grpc-audit/package.json"),
    join(dir, "packages/protoc-gen-grpc-audit/package.json"),
  );
  writeFileSync(lockFile, stripped.text);
  const { stdout } = await run(process.execPath, [join(REPO, "scripts/complete-lockfile.mjs"), lockFile]);
  completion = stdout;
  completed = readFileSync(lockFile, "utf8");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("puts back the other platforms' entries as they are committed, byte for byte", () => {
  expect(stripped.removed).toBeGreaterThan(0);
  expect(completion).toBe(`complete-lockfile: ${stripped.removed} platform entries added to ${lockFile}\n`);
  expect(completed).toBe(committed);
});

it("writes a lock that `npm install` leaves as it is", async () => {
  await run(
    "npm",
    ["install", "--package-lock-only", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
    { cwd: dir, env: { ...process.env, npm_config_cache: join(dir, "cache") } },
  );
  expect(readFileSync(lockFile, "utf8")).toBe(completed);
});
