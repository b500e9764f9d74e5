// Builds that several test files need (the CLI in dist/, the codegen plugin's bin) run once per change of
// their sources, one test process at a time: vitest runs two files at once, and a compiler writing files
// another process is executing makes that process read half a file.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** How long a build may take on a slow machine, waiting for another test process's build included. */
export const BUILD_TIMEOUT_MS = 180_000;

/** Newest modification time of the files below `dir`, in ms. */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** True when `output` exists and is newer than every file below each of `sourceDirs`. */
export function isNewerThan(output: string, sourceDirs: readonly string[]): boolean {
  try {
    return statSync(output).mtimeMs >= Math.max(...sourceDirs.map(newestMtimeMs));
  } catch {
    return false;
  }
}

/**
 * Runs `build` unless `isFresh()` says its output is up to date. Test processes building `name` at the
 * same time take turns through a lock folder; the later ones then find the output fresh.
 */
export async function buildOnce(
  name: string,
  isFresh: () => boolean,
  build: () => Promise<void>,
): Promise<void> {
  // Beside the repository rather than in the run's temporary folder: two test runs of one tree share it.
  mkdirSync(join(REPO, ".cache"), { recursive: true });
  const lock = join(REPO, ".cache", `${name}-build.lock`);
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      // A test process killed while it built (a timeout, Ctrl-C) left its lock behind: taken over.
      if (lockHolderGone(lock)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another build holds ${lock}; remove it if none runs`);
      else await sleep(200);
    }
  }
  try {
    if (!isFresh()) await build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** True when the process that took `lock` no longer runs (a lock without its pid yet is held). */
function lockHolderGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, "pid"), "utf8"));
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
