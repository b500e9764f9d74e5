// `grpc-audit ingest` before it ingests, as a child process against a real nats-server: a failed
// start leaves no store file it created (and keeps one that was there), a bad port is a usage error,
// `--to` a folder is named as such, and a signal while NATS is being connected to is a stop, exit 0.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { runCli, tempDir } from "../cli/helpers.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import { freshStream, startIngest, until, useIngestNats } from "./fleet.js";

const suite = useIngestNats();

/** `ingest` from `from` (stream S, consumer C) into `to`. */
const ingest = (from: string, to: string) =>
  runCli(["ingest", "--from", from, "--stream", "S", "--consumer", "C", "--to", to]);

/** A loopback port nothing listens on (connection refused). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address !== null ? address.port : 0;
}

/**
 * True while SIGINT waits to be delivered to process `pid` (Linux: /proc/<pid>/status); false once the
 * process is gone (a stop during connecting exits at once).
 */
function signalPending(pid: number | undefined): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return false;
  }
  const masks = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)];
  return masks.some(([, mask = "0"]) => (BigInt(`0x${mask}`) & 2n) !== 0n); // SIGINT is signal 2: bit 1
}

describe("a failed start of grpc-audit ingest", () => {
  it("leaves no store file behind when the stream does not exist or NATS refuses the connection", async () => {
    const dir = tempDir();
    const noStream = await ingest(suite.nats.url, join(dir, "a.db"));
    const refused = await ingest(`nats://127.0.0.1:${await closedPort()}`, join(dir, "b.db"));
    expect([noStream.code, noStream.stderr]).toStrictEqual([
      1,
      expect.stringMatching(/^error: nats:\/\/127\.0\.0\.1:\d+: nats S\/C: open failed: .*stream not found/i),
    ]);
    expect([refused.code, refused.stderr]).toStrictEqual([
      1,
      expect.stringMatching(/^error: nats:\/\/127\.0\.0\.1:\d+: nats S\/C: /),
    ]);
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("keeps a store file that was there before, even an empty one", async () => {
    const db = join(tempDir(), "kept.db");
    openAuditStore({ path: db }).close(); // made by an earlier run: empty, but not this run's
    const run = await ingest(suite.nats.url, db);
    expect(run.code).toBe(1);
    expect(existsSync(db)).toBe(true);
  });

  it.each([
    ["nats://127.0.0.1:99999", "a port above 65535"],
    ["nats://127.0.0.1:0", "port 0"],
    ["nats://127.0.0.1:4222,nats://127.0.0.1:70000", "a second server's bad port"],
  ])("%s (%s) is a usage error, exit 2, and creates nothing", async (from) => {
    const dir = tempDir();
    const run = await ingest(from, join(dir, "x.db"));
    expect([run.code, run.stderr]).toStrictEqual([
      2,
      `error: option '--from <url>' must be nats://host:port or kafka://host:port (several comma-separated), got ${from}\n`,
    ]);
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("--to a folder is named as one, exit 1, before the broker is connected to", async () => {
    const folder = join(tempDir(), "stores");
    mkdirSync(folder);
    const run = await ingest(`nats://127.0.0.1:${await closedPort()}`, folder);
    expect([run.code, run.stderr]).toStrictEqual([
      1,
      `error: audit store ${folder}: a folder, not a database file\n`,
    ]);
  });
});

describe("a signal while grpc-audit ingest connects to NATS", () => {
  it("is a stop even when the connection then fails: exit 0, and the store file it made is removed", async () => {
    const { stream } = await freshStream(suite.nc);
    const db = join(tempDir(), "startup.db");
    const proxy = await startSilentProxy(suite.nats.port, true); // NATS's greeting held: connecting
    const run = startIngest(`nats://127.0.0.1:${proxy.port}`, stream, db);
    try {
      await until(() => proxy.accepted > 0, "the command connecting to NATS (the store opened)");
      expect(existsSync(db)).toBe(true);
      run.child.kill("SIGINT");
      await until(() => !signalPending(run.child.pid), "the signal delivered to the command");
      proxy.reset(); // the connection fails (a broker that was unreachable)
      expect([await run.exited, run.out.stderr]).toStrictEqual([
        { code: 0, signal: null },
        "ingest: stopped before ingesting\n",
      ]);
      expect(existsSync(db)).toBe(false);
    } finally {
      run.child.kill("SIGKILL");
      await proxy.close();
    }
  });
});
