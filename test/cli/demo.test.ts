import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { eventToJson } from "../../src/event/serialize.js";
import { AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { freePort } from "../helpers/free-port.js";
import { type OpenFgaStandIn, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import {
  BUILD_TIMEOUT_MS,
  type CliRun,
  ensureBuilt,
  runCli,
  seedEvents,
  startCli,
  tempDir,
} from "./helpers.js";

/** Every event in the store, oldest first. */
function storedEvents(db: string) {
  const store = openAuditStore({ path: db, readonly: true });
  try {
    return store.query({}, { limit: 1000 }).events.reverse();
  } finally {
    store.close();
  }
}

const summary = (db: string) =>
  storedEvents(db).map((e) => [e.eventType, e.actor?.id, e.operation.split("/").pop(), e.result?.code]);

/** The one line the demo prints when a path it would write to already has something in it. */
const refusal = (option: string, what: string) =>
  `error: option '${option}' names ${what}; the demo only writes to new files: remove it, choose another path, or pass --keep to add to it\n`;

/** What the scripted client records: one row per event, in order. */
const SCRIPT = [
  [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "CreateProject", "OK"],
  [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "CreateProject", "OK"],
  [EventType.EVENT_TYPE_TUPLE_CHANGED, "alice", "CreateProject", "OK"],
  [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "CreateProject", "OK"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "UpdateProject", "OK"],
  [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "UpdateProject", "OK"],
  [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "UpdateProject", "OK"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "AddMember", "OK"],
  [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "AddMember", "OK"],
  [EventType.EVENT_TYPE_TUPLE_CHANGED, "alice", "AddMember", "OK"],
  [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "AddMember", "OK"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "bob", "GetProject", "OK"],
  [EventType.EVENT_TYPE_RESOURCE_ACCESS, "bob", "GetProject", "OK"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "bob", "UpdateProject", "OK"],
  [EventType.EVENT_TYPE_AUTHZ_DECISION, "bob", "UpdateProject", "PERMISSION_DENIED"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "anonymous", "DeleteProject", "UNAUTHENTICATED"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "anonymous", "UpdateProject", "UNAUTHENTICATED"],
  [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "RemoveMember", "OK"],
  [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "RemoveMember", "OK"],
  [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "RemoveMember", "NOT_FOUND"],
];

/** `grpc-audit demo --serve …` started, once it serves: a client, and alice's token as metadata. */
async function startServing(args: readonly string[], dir: string) {
  const child = startCli(["demo", "--serve", "--log", join(dir, "serve.ndjson"), ...args], { cwd: dir });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const closed = once(child, "close");
  for (let waited = 0; !/export TOKEN=\S+\n/.test(stdout); waited += 20) {
    if (waited > 15_000) throw new Error(`the demo never started serving: ${stdout}`);
    await sleep(20);
  }
  const port = /Serving on 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${/export TOKEN=(\S+)/.exec(stdout)?.[1]}`);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return { child, stdout, client, metadata, closed };
}

describe("grpc-audit demo", () => {
  let dir: string;
  let db: string;
  let run: CliRun;

  beforeAll(async () => {
    await ensureBuilt();
    dir = tempDir();
    db = join(dir, "demo.db");
    run = await runCli(["demo", "--db", db, "--log", join(dir, "demo.ndjson")], { cwd: dir });
  }, BUILD_TIMEOUT_MS);

  it("exits 0 after recording the script: all four kinds, denied, refused and failed calls", () => {
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(summary(db)).toStrictEqual(SCRIPT);
    const events = storedEvents(db);
    const details = events.map((e) => e.detail);
    expect(details).toContainEqual({
      $case: "authn",
      value: expect.objectContaining({ success: false, failureReason: "AUTHN_FAILURE_REASON_EXPIRED" }),
    });
    expect(details).toContainEqual({
      $case: "authz",
      value: expect.objectContaining({
        relation: "editor",
        objectId: "p-1",
        decision: AuthzDecision.AUTHZ_DECISION_DENIED,
      }),
    });
    expect(details).toContainEqual({
      $case: "tupleChange",
      value: expect.objectContaining({
        tuples: [
          expect.objectContaining({
            user: "user:bob",
            relation: "viewer",
            object: "project:p-1",
            success: true,
          }),
        ],
      }),
    });
    expect(events.at(-1)?.target).toStrictEqual({ type: "member", id: "99", name: "" });
  });

  it("names the in-process authorizer and prints the calls, the events and the stats", () => {
    expect(run.stdout).toContain("in-process demo authorizer (no OpenFGA server configured)");
    expect(run.stdout).toMatch(/bob\s+UpdateProject\s+p-1 name "mine"\s+PERMISSION_DENIED/);
    expect(run.stdout).toContain("They recorded 20 audit events");
    expect(run.stdout).toMatch(/resource\.mutation\s+alice\s+RemoveMember\s+member:99\s+FAIL NOT_FOUND/);
    expect(run.stdout).toContain("total events: 20");
    expect(run.stdout).toMatch(/^resource\.access\s+1$/m); // the stats' type table
    expect(run.stdout).toContain("recorder: accepted 20, dropped 0, failed 0, invalid 0");
  });

  it("records bob's read of the project as resource.access, and shows it", () => {
    const reads = storedEvents(db).filter((e) => e.eventType === EventType.EVENT_TYPE_RESOURCE_ACCESS);
    expect(reads.map((e) => [e.actor?.id, e.operation, e.target, e.result?.code, e.detail])).toStrictEqual([
      [
        "bob",
        "/example.v1.ProjectService/GetProject",
        { type: "project", id: "p-1", name: "" },
        "OK",
        { $case: "resourceAccess", value: { resourceType: "project", resourceId: "p-1" } },
      ],
    ]);
    expect(run.stdout).toMatch(
      /resource\.access\s+bob\s+GetProject\s+project:p-1\s+ok OK \S+\s+read project:p-1/,
    );
  });

  it("shows what --target-id p-1 finds: the project's reads and changes, and the tuples written on it", async () => {
    const heading = `\`grpc-audit query --db ${db} --target-type project --target-id p-1\` (reads, changes and tuple writes):`;
    expect(run.stdout).toContain(heading);
    const shown = (run.stdout.split(heading)[1]?.split("\n\n")[0] ?? "").trim().split("\n").slice(2);
    expect(
      shown.filter((row) => /tuple\.change/.test(row)).map((row) => row.replace(/.*ms\s+/, "")),
    ).toStrictEqual(["write user:bob viewer project:p-1", "write user:alice owner project:p-1"]);

    const query = await runCli(["query", "--db", db, "--target-id", "p-1", "--json"]);
    expect([query.code, query.stderr]).toStrictEqual([0, ""]);
    const found = (JSON.parse(query.stdout).events as { eventType: string; operation: string }[]).map(
      (e) => `${e.eventType.replace("EVENT_TYPE_", "")} ${e.operation.split("/").pop()}`,
    );
    expect(found.length).toBe(shown.length); // the demo printed what the command finds
    expect(found.reverse()).toStrictEqual([
      "TUPLE_CHANGED CreateProject", // the tuple's object is its target
      "RESOURCE_MUTATION CreateProject",
      "AUTHZ_DECISION UpdateProject",
      "RESOURCE_MUTATION UpdateProject",
      "AUTHZ_DECISION AddMember",
      "TUPLE_CHANGED AddMember",
      "RESOURCE_ACCESS GetProject",
      "AUTHZ_DECISION UpdateProject",
      "AUTHZ_DECISION RemoveMember",
    ]);
  });

  it("query --type resource.access lists exactly the reads", async () => {
    const query = await runCli(["query", "--db", db, "--type", "resource.access", "--json"]);
    expect(query.code).toBe(0);
    expect(JSON.parse(query.stdout).events.map((e: { actor: { id: string } }) => e.actor.id)).toStrictEqual([
      "bob",
    ]);
  });

  it("writes the same events to the pino log", () => {
    const lines = readFileSync(join(dir, "demo.ndjson"), "utf8").trimEnd().split("\n");
    const logged = lines.map((line) => JSON.parse(line).audit.eventId).sort();
    expect(logged).toStrictEqual(
      storedEvents(db)
        .map((e) => e.eventId)
        .sort(),
    );
  });

  it("query --actor alice --json returns exactly alice's events", async () => {
    const query = await runCli(["query", "--db", db, "--actor", "alice", "--json"]);
    expect(query.code).toBe(0);
    const store = openAuditStore({ path: db, readonly: true });
    const alice = store.query({ actorId: "alice" }, { limit: 1000 }).events;
    store.close();
    expect(alice).toHaveLength(SCRIPT.filter((row) => row[1] === "alice").length);
    expect(JSON.parse(query.stdout)).toStrictEqual({ events: alice.map(eventToJson), nextCursor: null });
  });

  it("refuses the files of an earlier run unless --keep, which adds to them", async () => {
    const again = join(dir, "again.db");
    const args = ["demo", "--db", again, "--log", join(dir, "again.ndjson")];
    expect((await runCli(args, { cwd: dir })).code).toBe(0);
    const before = readFileSync(again);
    const refused = await runCli(args, { cwd: dir });
    expect(refused).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: refusal("--db", `${again}, which already exists`),
    });
    expect(readFileSync(again).equals(before)).toBe(true);
    expect(storedEvents(again)).toHaveLength(SCRIPT.length);
    expect((await runCli([...args, "--keep"], { cwd: dir })).code).toBe(0);
    expect(storedEvents(again)).toHaveLength(2 * SCRIPT.length);
  });

  it("fails with exit 1 when the database cannot be created", async () => {
    const path = join(dir, "no/such/folder.db");
    const failed = await runCli(["demo", "--db", path], { cwd: dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      `error: audit store ${path}: Cannot open database because the directory does not exist\n`,
    );
  });
});

describe.concurrent("grpc-audit demo never deletes a file it did not create", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  /** A folder with `files` written into it, and a check that each is still there byte for byte. */
  function folderWith(files: Record<string, Buffer>) {
    const dir = tempDir();
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return {
      dir,
      intact() {
        expect(readdirSync(dir).sort()).toStrictEqual(Object.keys(files).sort());
        for (const [name, content] of Object.entries(files)) {
          expect(readFileSync(join(dir, name)).equals(content)).toBe(true);
        }
      },
    };
  }

  it("refuses a --db file that has content, and leaves it and the folder as they were", async () => {
    const { dir, intact } = folderWith({ "precious.db": Buffer.from("not yours to delete\n") });
    const db = join(dir, "precious.db");
    const run = await runCli(["demo", "--db", db, "--log", join(dir, "demo.ndjson")], { cwd: dir });
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: refusal("--db", `${db}, which already exists`),
    });
    intact();
  });

  it("refuses a real audit store named by GRPC_AUDIT_DB, and leaves it byte for byte", async () => {
    const source = join(tempDir(), "source.db");
    const store = openAuditStore({ path: source });
    store.insert(seedEvents(5));
    store.close();
    const { dir, intact } = folderWith({ "audit.db": readFileSync(source) });
    const run = await runCli(["demo"], { cwd: dir, env: { GRPC_AUDIT_DB: "./audit.db" } });
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: refusal("--db", "./audit.db, which already exists"),
    });
    intact();
  });

  it("refuses a --log file that has content, and a left-over -wal file", async () => {
    const log = folderWith({ "mine.ndjson": Buffer.from('{"keep":"me"}\n') });
    const logRun = await runCli(["demo", "--log", "mine.ndjson"], { cwd: log.dir });
    expect(logRun).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: refusal("--log", "mine.ndjson, which already exists"),
    });
    log.intact();
    const wal = folderWith({ "audit.db-wal": Buffer.from("a log of someone's database") });
    const walRun = await runCli(["demo"], { cwd: wal.dir });
    expect(walRun).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: refusal("--db", "./audit.db, and ./audit.db-wal already exists"),
    });
    wal.intact();
  });

  it("uses an empty --db file as a new one", async () => {
    const { dir } = folderWith({ "empty.db": Buffer.alloc(0) });
    const run = await runCli(["demo", "--db", "empty.db"], { cwd: dir });
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(storedEvents(join(dir, "empty.db"))).toHaveLength(SCRIPT.length);
  });
});

describe("grpc-audit demo --serve", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("keeps serving after the script, records the user's own calls, and stops on SIGINT", async () => {
    const dir = tempDir();
    const db = join(dir, "serve.db");
    const { child, stdout, client, metadata, closed } = await startServing(["--db", db], dir);
    // The grpcurl line names the package's own proto folder, whatever the working folder.
    const importPath = /-import-path (\S+) -proto (\S+)/.exec(stdout);
    expect(isAbsolute(importPath?.[1] ?? "")).toBe(true);
    expect(existsSync(join(importPath?.[1] ?? "", importPath?.[2] ?? ""))).toBe(true);
    const project = await new Promise((resolve, reject) =>
      client.createProject({ name: "zeus" }, metadata, (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
    client.close();
    expect(project).toStrictEqual({ id: "p-2", name: "zeus", ownerId: "alice" });
    child.kill("SIGINT");
    expect(await closed).toStrictEqual([0, null]);
    // Closing flushed the delivery pipeline: the call's events are in the store.
    expect(summary(db).slice(SCRIPT.length)).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "CreateProject", "OK"],
      [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "CreateProject", "OK"],
      [EventType.EVENT_TYPE_TUPLE_CHANGED, "alice", "CreateProject", "OK"],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "CreateProject", "OK"],
    ]);
  });
});

describe("grpc-audit demo --openfga-url", () => {
  let standIn: OpenFgaStandIn;

  beforeAll(async () => {
    standIn = await startOpenFgaStandIn({ impliedBy: { viewer: ["editor"], editor: ["owner"] } });
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => standIn.close());

  it("authorizes with the OpenFGA authorizer and writes tuples through the audited tuple writer", async () => {
    const dir = tempDir();
    const db = join(dir, "fga.db");
    const args = [
      "--openfga-url",
      standIn.url,
      "--openfga-store",
      standIn.storeId,
      "--openfga-model",
      standIn.modelId,
    ];
    const run = await runCli(["demo", "--db", db, "--log", join(dir, "fga.ndjson"), ...args], { cwd: dir });
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toContain(
      `OpenFGA at ${standIn.url} (store ${standIn.storeId}, model ${standIn.modelId})`,
    );
    expect(run.stdout).not.toContain("in-process");

    const events = storedEvents(db);
    const project =
      events.find((e) => e.eventType === EventType.EVENT_TYPE_RESOURCE_MUTATION)?.target?.id ?? "";
    expect(project).toMatch(/^p-[0-9a-z]+-1$/);
    expect(standIn.tuples().map(({ user, relation, object }) => [user, relation, object])).toStrictEqual([
      ["user:alice", "owner", `project:${project}`],
      ["user:bob", "viewer", `project:${project}`],
    ]);
    expect(summary(db).map((row) => row[3])).toStrictEqual(SCRIPT.map((row) => row[3]));
    for (const event of events.filter(
      (e) => e.detail?.$case === "tupleChange" || e.detail?.$case === "authz",
    )) {
      if (event.detail?.$case === "authz" && event.detail.value.relation === "") continue; // NO_RULE: no check made
      expect(event.detail?.value).toMatchObject({ storeId: standIn.storeId, modelId: standIn.modelId });
    }
  });

  it("--serve: Ctrl-C gives up a user's call still waiting on OpenFGA, and exits 0", async () => {
    const dir = tempDir();
    const db = join(dir, "held.db");
    const fga = ["--openfga-url", standIn.url, "--openfga-store", standIn.storeId];
    const { child, client, metadata, closed } = await startServing(["--db", db, ...fga], dir);
    // The call's tuple write is never answered: only the demo giving up on it ends the call, which fails.
    standIn.inject({ endpoint: "write", hold: new Promise(() => undefined) });
    const writes = standIn.counts.write;
    try {
      const call = new Promise<ServiceError | null>((resolve) =>
        client.createProject({ name: "hera" }, metadata, (error) => resolve(error)),
      );
      while (standIn.counts.write === writes) await sleep(20);
      child.kill("SIGINT");
      expect(await closed).toStrictEqual([0, null]);
      expect((await call)?.code).toBe(status.INTERNAL);
    } finally {
      standIn.clearFaults();
      client.close();
    }
    // The write given up is recorded with an unknown outcome (it was sent), and the handler's failure.
    expect(summary(db).slice(SCRIPT.length)).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, "alice", "CreateProject", "OK"],
      [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "CreateProject", "OK"],
      [EventType.EVENT_TYPE_TUPLE_CHANGED, "alice", "CreateProject", "UNKNOWN"],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "CreateProject", "INTERNAL"],
    ]);
  });

  it("stops before its calls, naming why, when OpenFGA cannot be reached or has no such store", async () => {
    const dir = tempDir();
    const files = ["--db", join(dir, "fga.db"), "--log", join(dir, "fga.ndjson")];
    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runCli(
      ["demo", ...files, "--openfga-url", closed, "--openfga-store", standIn.storeId],
      {
        cwd: dir,
      },
    );
    expect([unreachable.code, unreachable.stdout, unreachable.stderr]).toStrictEqual([
      1,
      "",
      `error: OpenFGA at ${closed}: a read of store ${standIn.storeId} failed (ECONNREFUSED); check --openfga-url and --openfga-store\n`,
    ]);
    const otherStore = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const wrongStore = await runCli(
      ["demo", ...files, "--openfga-url", standIn.url, "--openfga-store", otherStore],
      {
        cwd: dir,
      },
    );
    expect([wrongStore.code, wrongStore.stderr]).toStrictEqual([
      1,
      `error: OpenFGA at ${standIn.url}: a read of store ${otherStore} failed (HTTP 404, store_id_not_found); check --openfga-url and --openfga-store\n`,
    ]);
    expect(readdirSync(dir)).toStrictEqual([]); // the files this run created are removed
  });
});
