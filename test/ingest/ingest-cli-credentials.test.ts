// `grpc-audit ingest` refuses credentials in a broker URL (every local user sees a process's arguments),
// and "Messages name the broker, never a password" (docs/many-servers.md): the usage error saying so
// must not repeat the password, whatever it holds ("/" and "@" unencoded) and for either broker.
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli } from "../cli/helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

describe("ingest: a password in --from", () => {
  it.each([
    ["kafka://alice:hunter2@k1:9092", ["--topic", "t", "--group", "g"], "hunter2"],
    ["kafka://k1:9092,kafka://alice:hunter2@k2:9092", ["--topic", "t", "--group", "g"], "hunter2"],
    ["nats://alice:hunt/er2@127.0.0.1:4222", ["--stream", "S", "--consumer", "C"], "hunt/er2"],
    ["nats://alice:p@ss@127.0.0.1:4222", ["--stream", "S", "--consumer", "C"], "p@ss"],
  ])("--from %s: refused (exit 2), the password never printed", async (from, flags, password) => {
    const run = await runCli(["ingest", "--from", from, ...flags, "--to", "never.db"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("must not hold credentials");
    expect(run.stderr).not.toContain(password);
    expect(run.stdout).toBe("");
  });
});
