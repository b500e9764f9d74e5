// The command on a store whose file system has no space left: even a reader must create and grow the
// store's -shm file, which fails with SQLITE_IOERR_SHMSIZE, "disk I/O error". The command says which
// store and why. The disk is full for real, without a mount: the command runs with a file size limit
// (`ulimit -f`, RLIMIT_FSIZE) below the -shm file's 32 KiB, so the system refuses to grow it, as a full
// disk does (a write past the limit fails with EFBIG where a full disk's fails with ENOSPC).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, CLI, ensureBuilt, REPO, seedEvents, tempDir } from "./helpers.js";

/** Runs the command with files limited to 16 blocks (8 or 16 KiB, as the shell counts them). */
async function runOnFullDisk(args: readonly string[]): Promise<{ code: unknown; stderr: string }> {
  const run = promisify(execFile)(
    "sh",
    ["-c", 'ulimit -f 16 && exec "$@"', "sh", process.execPath, CLI, ...args],
    {
      cwd: REPO,
    },
  );
  return run.then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code?: unknown; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
  );
}

describe.concurrent("grpc-audit on a store whose file system is full", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it.each([
    ["query", "--limit", "1"],
    ["stats"],
    ["verify"],
    ["prune", "--before", "2026-11-21", "--cut-chains"],
  ])("%s names the store and says its file system is full or failing", async (...command) => {
    const db = join(tempDir(), "audit.db");
    const store = openAuditStore({ path: db });
    store.insert(seedEvents(5));
    store.close(); // the last connection: the -shm file is removed, and must be made again

    expect(await runOnFullDisk([...command, "--db", db])).toStrictEqual({
      code: 1,
      stderr: `error: audit store ${db}: cannot open it: its file system is full or failing (SQLITE_IOERR_SHMSIZE); free space on it, or check the disk\n`,
    });
  });
});
