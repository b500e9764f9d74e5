import { once } from "node:events";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, startCli, tempDir } from "./helpers.js";

/** A store id in the form OpenFGA takes (a ULID); the server below never answers anyway. */
const STORE_ID = "01JSTANDN0STRE00000000000A";
/** How many events the demo's script records. */
const SCRIPT_EVENTS = 20;

function storedCount(db: string): number {
  const store = openAuditStore({ path: db, readonly: true });
  try {
    return store.stats({}).total;
  } finally {
    store.close();
  }
}

describe.concurrent("grpc-audit demo and the files of earlier runs", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("runs again after `rm audit.db audit-demo.ndjson`, though a query left an empty -wal and a -shm", async () => {
    const dir = tempDir();
    expect((await runCli(["demo"], { cwd: dir })).code).toBe(0);
    expect((await runCli(["query"], { cwd: dir })).code).toBe(0);
    // A read-only connection cannot delete them: this is what SQLite leaves, and what the user sees.
    expect(readdirSync(dir).sort()).toStrictEqual([
      "audit-demo.ndjson",
      "audit.db",
      "audit.db-shm",
      "audit.db-wal",
    ]);
    rmSync(join(dir, "audit.db"));
    rmSync(join(dir, "audit-demo.ndjson"));
    const again = await runCli(["demo"], { cwd: dir });
    expect([again.code, again.stderr]).toStrictEqual([0, ""]);
    expect(storedCount(join(dir, "audit.db"))).toBe(SCRIPT_EVENTS);
  });

  it("still refuses a -wal with content next to a missing database, and leaves it and its -shm", async () => {
    const dir = tempDir();
    const wal = Buffer.from("frames of someone's database");
    const shm = Buffer.alloc(32768, 1);
    writeFileSync(join(dir, "audit.db-wal"), wal);
    writeFileSync(join(dir, "audit.db-shm"), shm);
    const run = await runCli(["demo"], { cwd: dir });
    expect([run.code, run.stdout]).toStrictEqual([2, ""]);
    expect(run.stderr).toContain("names ./audit.db, and ./audit.db-wal already exists");
    expect(readdirSync(dir).sort()).toStrictEqual(["audit.db-shm", "audit.db-wal"]);
    expect(readFileSync(join(dir, "audit.db-wal")).equals(wal)).toBe(true);
    expect(readFileSync(join(dir, "audit.db-shm")).equals(shm)).toBe(true);
  });

  it("a run that fails removes the files it created", async () => {
    const dir = tempDir();
    // The store is open before the demo reads the OpenFGA store, which no server answers.
    const store = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const args = ["demo", "--openfga-url", "http://127.0.0.1:1", "--openfga-store", store];
    const run = await runCli(args, { cwd: dir });
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: OpenFGA at http://127.0.0.1:1: a read of store ${store} failed (ECONNREFUSED); check --openfga-url and --openfga-store\n`,
    });
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("refuses a postgres:// --db as a usage error without repeating its password", async () => {
    const run = await runCli(["demo", "--db", "postgres://u:s3cret@127.0.0.1:1/x"], { cwd: tempDir() });
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr:
        "error: option '--db <path>' names a PostgreSQL server (postgres://…@127.0.0.1:1/x); the demo records into a SQLite file only\n",
    });
    const help = await runCli(["demo", "--help"]);
    expect(help.stdout).toMatch(/--db <path> +the audit store the demo records into: a SQLite file\n/);
    expect(help.stdout).not.toContain("postgres");
  });

  it("takes an empty --db or GRPC_AUDIT_DB as a usage error", async () => {
    const dir = tempDir();
    const flag = await runCli(["query", "--db", ""], { cwd: dir });
    expect(flag).toStrictEqual({
      code: 2,
      stdout: "",
      stderr:
        "error: option '--db <path>' argument '' is invalid. It is empty: name a SQLite file or a postgres:// URL.\n",
    });
    for (const command of ["stats", "demo"]) {
      const env = await runCli([command], { cwd: dir, env: { GRPC_AUDIT_DB: "" } });
      expect(env).toStrictEqual({
        code: 2,
        stdout: "",
        stderr:
          "error: option '--db <path>' value '' from env 'GRPC_AUDIT_DB' is invalid. It is empty: name a SQLite file or a postgres:// URL.\n",
      });
    }
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});

describe("grpc-audit demo interrupted", () => {
  let openfga: Server;
  let url: string;
  /**
   * Called on each request the demo makes to its OpenFGA server, which never answers, but the read of
   * the store the demo starts with when `answerRead` is set.
   */
  let onRequest: (request: IncomingMessage, response: ServerResponse) => void = () => undefined;
  let answerRead = true;

  beforeAll(async () => {
    openfga = createServer((request, response) => {
      if (answerRead && request.url === `/stores/${STORE_ID}/read`) {
        response.setHeader("content-type", "application/json");
        response.end('{"tuples":[],"continuation_token":""}');
      } else onRequest(request, response);
    });
    openfga.listen(0, "127.0.0.1");
    await once(openfga, "listening");
    url = `http://127.0.0.1:${(openfga.address() as AddressInfo).port}`;
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => {
    openfga.closeAllConnections();
    openfga.close();
  });

  it("by Ctrl-C during the script removes the files it created, keeps the others, and exits 130", async () => {
    const dir = tempDir();
    const mine = Buffer.from('{"earlier":"run"}\n');
    writeFileSync(join(dir, "audit-demo.ndjson"), mine);
    // The script's first call writes a tuple to OpenFGA, which hangs: SIGINT comes mid-script.
    const child = startCli(["demo", "--keep", "--openfga-url", url, "--openfga-store", STORE_ID], {
      cwd: dir,
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const closed = once(child, "close");
    // The write is answered 8 s after SIGINT: a demo that waited for it (the Recorder's default
    // closeWaitMs is 10 s) would log its tuple change as done; one that ends promptly gives it up.
    let answer: NodeJS.Timeout | undefined;
    onRequest = (_request, response) => {
      child.kill("SIGINT");
      answer = setTimeout(() => response.setHeader("content-type", "application/json").end("{}"), 8000);
    };
    try {
      expect(await closed).toStrictEqual([130, null]);
    } finally {
      clearTimeout(answer);
    }
    expect(stderr).toBe(
      "grpc-audit demo: interrupted (SIGINT) before it finished; removed the files it created: ./audit.db\n",
    );
    expect(readdirSync(dir)).toStrictEqual(["audit-demo.ndjson"]);
    const log = readFileSync(join(dir, "audit-demo.ndjson"));
    expect(log.subarray(0, mine.length).equals(mine)).toBe(true);
    // What the call recorded before SIGINT, then the write the demo gave up on, with an unknown outcome
    // (it was sent), and the call's failure; never the answer that came later.
    const logged = log.subarray(mine.length).toString().trimEnd().split("\n");
    expect(
      logged.map((line) => JSON.parse(line)).map(({ msg, audit }) => [msg, audit.result.code]),
    ).toStrictEqual([
      ["authn.result", "OK"],
      ["authz.decision", "OK"],
      ["tuple.change", "UNKNOWN"],
      ["resource.mutation", "INTERNAL"],
    ]);
  });

  it("by Ctrl-C while it waits for its first read of the OpenFGA store removes the files it created and exits 130", async () => {
    const dir = tempDir();
    answerRead = false;
    const child = startCli(["demo", "--openfga-url", url, "--openfga-store", STORE_ID], { cwd: dir });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const closed = once(child, "close");
    onRequest = () => child.kill("SIGINT");
    try {
      expect(await closed).toStrictEqual([130, null]);
    } finally {
      answerRead = true;
    }
    expect(stderr).toBe(
      "grpc-audit demo: interrupted (SIGINT) before it finished; removed the files it created: ./audit.db, ./audit-demo.ndjson\n",
    );
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});
