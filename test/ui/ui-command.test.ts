/** `grpc-audit ui`'s arguments and failures, run as the built command. */
import { request } from "node:http";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, runCli, tempDir } from "../cli/helpers.js";
import { hideRowFromIndex, putRowTwice } from "../cli/store-tampering.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

it.each(["abc", "-1", "65536"])("refuses --port %s", async (port) => {
  const run = await runCli(["ui", "--port", port]);
  expect(run).toEqual({
    code: 2,
    stdout: "",
    stderr: `error: option '--port <n>' argument '${port}' is invalid. Use an integer from 0 to 65535.\n`,
  });
});

it("fails without a store, and never creates one", async () => {
  const db = join(tempDir(), "missing.db");
  const run = await runCli(["ui", "--db", db, "--port", "0"]);
  expect(run).toEqual({
    code: 1,
    stdout: "",
    stderr: `error: no audit database at ${db}; run \`grpc-audit demo\` or pass --db\n`,
  });
});

/** A store with one event, for the runs that must start. */
function oneEventStore(): string {
  const store = openAuditStore({ path: join(tempDir(), "one.db") });
  store.insert([sampleEvent({ kind: "authn" })]);
  store.close();
  return store.path;
}

/** `GET /api/info` sent to 127.0.0.1:`port` with the Host header `host`; resolves to the status. */
function statusFor(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/api/info", headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

it("warns of no exposure for a name that binds a loopback address (127.1)", async () => {
  const viewer = await startViewer(["--db", oneEventStore(), "--host", "127.1"]);
  expect(viewer.url).toMatch(/^http:\/\/127\.1:\d+\/$/);
  expect(await viewer.stop()).toBe(0);
  expect(viewer.stderr()).toBe("");
});

it("warns on every address, and answers there only its names and each --allowed-host", async () => {
  const viewer = await startViewer([
    "--db",
    oneEventStore(),
    "--host",
    "0.0.0.0",
    "--allowed-host",
    "audit.example.com",
    "--allowed-host",
    "proxy.example:8443",
  ]);
  const port = Number(new URL(viewer.url).port);
  const statuses = [];
  for (const host of [
    `127.0.0.1:${port}`,
    "audit.example.com",
    "proxy.example:8443",
    `rebind.example:${port}`,
  ])
    statuses.push([host, await statusFor(port, host)]);
  expect(await viewer.stop()).toBe(0);
  expect(statuses).toEqual([
    [`127.0.0.1:${port}`, 200],
    ["audit.example.com", 200],
    ["proxy.example:8443", 200],
    [`rebind.example:${port}`, 403],
  ]);
  expect(viewer.stderr()).toBe(
    "warning: listening on 0.0.0.0: anyone who can reach it reads the trail (the viewer has no login)\n",
  );
});

it("refuses an empty --host as a bad option", async () => {
  const run = await runCli(["ui", "--host", ""]);
  expect(run).toEqual({
    code: 2,
    stdout: "",
    stderr:
      "error: option '--host <address>' argument '' is invalid. It is empty: name an address, such as 127.0.0.1.\n",
  });
});

it("refuses an --allowed-host that is no host name", async () => {
  const run = await runCli(["ui", "--allowed-host", "http://x/"]);
  expect(run).toEqual({
    code: 2,
    stdout: "",
    stderr:
      "error: option '--allowed-host <name>' argument 'http://x/' is invalid. " +
      "Use a host name or address, with an optional :port (example.com:8443).\n",
  });
});

describe("the viewer's verification, as grpc-audit verify --db's", () => {
  /** A copy of a recorded store changed by `tamper`; `/api/verify` of a viewer on it. */
  async function verifyOf(tamper: (db: BetterSqlite3.Database) => void): Promise<VerifyAnswer> {
    const path = join(tempDir(), "tampered.db");
    const store = openAuditStore({ path });
    store.insert(await recordTrail(4));
    store.close();
    const db = new BetterSqlite3(path);
    tamper(db);
    db.close();
    const viewer = await startViewer(["--db", path]);
    try {
      return (await (await fetch(`${viewer.url}api/verify`)).json()) as VerifyAnswer;
    } finally {
      await viewer.stop();
    }
  }
  interface VerifyAnswer {
    worst: string;
    chains: { findings: { kind: string; detail: string }[] }[];
    unreadable: { where: string; reason: string }[];
  }

  it("reports a store row put in twice as modified, not as a duplicate", async () => {
    const answer = await verifyOf(putRowTwice);
    expect(answer.worst).toBe("modified");
    expect(answer.chains[0]?.findings).toContainEqual(
      expect.objectContaining({
        kind: "modified",
        detail: expect.stringMatching(/holds the event at seq 2 twice/),
      }),
    );
  });

  it("reports an index that hides a row from query, from SQLite's integrity_check", async () => {
    const answer = await verifyOf(hideRowFromIndex);
    expect(answer.unreadable).toContainEqual({
      where: "the store file",
      reason: "integrity_check: row 3 missing from index events_target",
    });
  });
});
