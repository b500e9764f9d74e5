// `grpc-audit ingest --to` a new SQLite file on a file system too full to make a store of it: the
// command exits 1 naming the store, and leaves no file behind, as any failed start. The disk is full
// for real, without a mount: the command runs with a file size limit of 0 (`ulimit -f 0`,
// RLIMIT_FSIZE), so the file is created but no byte can be written to it, as on a full disk.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, CLI, ensureBuilt, REPO, tempDir } from "../cli/helpers.js";

describe("grpc-audit ingest into a new SQLite file on a full disk", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("exits 1 naming the store and leaves no file", async () => {
    const dir = tempDir();
    const db = join(dir, "audit.db");
    const args = ["ingest", "--from", "nats://127.0.0.1:1", "--stream", "S", "--consumer", "C", "--to", db];
    const run = await promisify(execFile)(
      "sh",
      ["-c", 'ulimit -f 0 && exec "$@"', "sh", process.execPath, CLI, ...args],
      { cwd: REPO },
    ).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (error: { code?: unknown; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
    );
    expect(run).toStrictEqual({ code: 1, stderr: expect.stringMatching(`^error: audit store ${db}: `) });
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});
