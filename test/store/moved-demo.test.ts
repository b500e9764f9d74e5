// `grpc-audit demo --serve` writing into its store when an operator moves the file away (with its
// -wal and -shm), as a log rotation would. The writes fail from then on: the demo must say so on
// stderr (its recorder and emitters had no onError, and it said nothing).
import { once } from "node:events";
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, startCli, tempDir } from "../cli/helpers.js";
import { until } from "../helpers/fake-sink.js";

describe("grpc-audit demo --serve, its store file moved away", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("prints the failed write on stderr, and on Ctrl-C the events it gives up", async () => {
    const dir = tempDir();
    const db = join(dir, "w.db");
    const child = startCli(["demo", "--serve", "--db", db, "--log", join(dir, "serve.ndjson")], { cwd: dir });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const closed = once(child, "close");
    await until(() => /export TOKEN=\S+\n/.test(stdout), { message: () => stdout });
    for (const suffix of ["", "-wal", "-shm"]) {
      if (existsSync(`${db}${suffix}`)) renameSync(`${db}${suffix}`, `${db}.1${suffix}`);
    }

    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${/export TOKEN=(\S+)/.exec(stdout)?.[1]}`);
    const port = /Serving on 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
    const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    await new Promise((resolve, reject) =>
      client.createProject({ name: "zeus" }, metadata, (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
    client.close();
    await until(() => stderr.includes("\n"));
    // Ctrl-C gives the failing writes up after the demo's close timeout (2 s), dropping and counting them.
    child.kill("SIGINT");
    const [code] = await closed;
    expect(code).toBe(0);
    expect(stderr).toMatch(/\ndemo: error: audit store: dropped \d+ events? \(close_timeout\)/);

    // Among its lines (the checkpoint worker may report the moved file first, on a loaded machine):
    expect(stderr.split("\n")).toContain(
      `demo: error: audit store: sink write failed; retrying: audit store ${db}: the file was removed or replaced while this store had it open: the events of this batch were not stored; restore the file or restart the writer`,
    );
    expect(existsSync(db)).toBe(false);
  });
});
