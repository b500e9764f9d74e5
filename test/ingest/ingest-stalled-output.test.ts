// `grpc-audit ingest` with stdout and stderr into a pipe nobody reads (a stalled journald): SIGTERM
// stops it, and the process exits 0 though its last lines cannot be written, rather than wait for a
// reader for good. The pipe is real, 4096 bytes (test/ingest/stalled-output.py).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, tempDir } from "../cli/helpers.js";
import { requireTool } from "../helpers/prerequisites.js";
import { freshStream, until, useIngestNats } from "./fleet.js";

const suite = useIngestNats();

describe("grpc-audit ingest writing into a pipe nobody reads", () => {
  it("exits 0 on SIGTERM", async () => {
    const { stream } = await freshStream(suite.nc);
    const args = ["ingest", "--from", suite.nats.url, "--stream", stream, "--consumer", "ingest"];
    const wrapper = spawn(requireTool("python3"), [
      join(import.meta.dirname, "stalled-output.py"),
      process.execPath,
      CLI,
      ...args,
      "--to",
      join(tempDir(), "audit.db"),
      "--progress-ms",
      "100",
    ]);
    let said = "";
    wrapper.stdout.on("data", (chunk: Buffer) => {
      said += chunk.toString();
    });
    // A process start, NATS, the store, then 36 progress lines of 100 ms: 5 s idle, over 20 s seen on
    // a loaded 2-core machine.
    await until(() => said.includes("full\n"), "the pipe full");
    const pid = Number(said.split("\n")[0]);
    try {
      process.kill(pid, "SIGTERM");
      // The command waits 2 s for its output; a command that never ends fails at the test's timeout.
      await until(() => said.includes("exit"), "the command ended");
      expect(said.split("\n").slice(1)).toStrictEqual(["full", "exit 0", ""]);
    } finally {
      if (!said.includes("exit")) process.kill(pid, "SIGKILL");
    }
  }, 90_000);
});
