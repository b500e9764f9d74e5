// `grpc-audit ingest --help` says what each exit code means, as `verify --help` does: a supervisor's
// configuration (systemd's Restart=on-failure, a Kubernetes restart policy) depends on them. Two of
// them are checked against runs of the built command (a signal's 0 and a broker's refusal are run in
// ingest-stop-signals.test.ts and test/nats/).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli } from "../cli/helpers.js";

beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

const BROKER = ["--from", "nats://127.0.0.1:1", "--stream", "AUDIT", "--consumer", "ingest"];

describe("grpc-audit ingest --help", () => {
  it("lists the exit codes, and the command exits as they say (2 a bad argument, 1 a store it cannot use)", async () => {
    const help = await runCli(["ingest", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      [
        "Exit codes: 0 stopped by a signal (SIGINT, SIGTERM, SIGHUP), also one that came while starting;",
        "1 a store or broker that cannot be used: not opened at start (a broker that never answers: after its",
        "connect timeout), its connection closed for good, the consumer or stream deleted, or a missing optional",
        "peer dependency; 2 bad arguments, or the broker refusing the consumer's configuration (NATS: a consumer",
        "that would lose events, or another ack wait than --ack-wait-ms).",
      ].join("\n"),
    );
    const badArgument = await runCli(["ingest", ...BROKER, "--to", "audit.db", "--batch-size", "0"]);
    const folder = mkdtempSync(join(tmpdir(), "ingest-help-"));
    try {
      const notAStore = await runCli(["ingest", ...BROKER, "--to", folder]);
      expect([badArgument.code, notAStore.code]).toStrictEqual([2, 1]);
      expect(notAStore.stderr).toBe(`error: audit store ${folder}: a folder, not a database file\n`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
