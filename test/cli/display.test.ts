import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tailCli, tempDir } from "./helpers.js";

/** Every character that could control a terminal: C0 (but the newline that ends a line), DEL, C1, bidi, separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

/** Four events, one of each kind, whose stored text tries to control the terminal or fake a row. */
function hostileEvents(): AuditEvent[] {
  const memory = createMemoryEmitter();
  let n = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n * 1000),
  });
  recorder.recordAuthnResult({
    operation: "/example.v1.ProjectService/Get\u001b]0;pwned\u0007",
    actor: { id: "mallory\u001b[2J\u001b[H" },
    method: "jwt",
    success: true,
  });
  n++;
  recorder.recordAuthzDecision({
    operation: "/example.v1.ProjectService/UpdateProject",
    actor: { id: "bob" },
    relation: "edit\u007for",
    objectType: "project",
    objectId: "p-1\n2026-11-20T10:00:09.000Z  authz.decision  alice  fake row",
    decision: "error",
    errorReason: "\u009b31mred\u0085",
  });
  n++;
  recorder.recordTupleChange({
    operation: "/example.v1.ProjectService/AddMember",
    actor: { id: "alice" },
    tuples: [
      {
        operation: "write",
        user: "user:\u202eevil\u202c",
        relation: "viewer",
        object: "project:\u2066p-2\u2069",
      },
    ],
  });
  n++;
  recorder.recordResourceMutation({
    operation: "/example.v1.ProjectService/DeleteProject",
    actor: { id: "carol\u0000" },
    mutation: "delete",
    resourceType: "project",
    resourceId: "p-3\r\t\\x1b",
    result: { success: false, code: 5 },
  });
  return [...memory.events];
}

/** What `query` prints for the hostile events (newest first): each control character visible. */
const QUERY_TABLE = [
  "time                      kind               actor                 operation            target                                                                  result            detail",
  "------------------------  -----------------  --------------------  -------------------  ----------------------------------------------------------------------  ----------------  --------------------------------------------------------------------------------------------------------------",
  String.raw`2026-11-20T10:00:03.000Z  resource.mutation  carol\x00             DeleteProject        project:p-3\r\t\\x1b                                                    FAIL NOT_FOUND    delete project:p-3\r\t\\x1b`,
  String.raw`2026-11-20T10:00:02.000Z  tuple.change       alice                 AddMember            project:\u2066p-2\u2069                                                 ok OK             write user:\u202eevil\u202c viewer project:\u2066p-2\u2069`,
  String.raw`2026-11-20T10:00:01.000Z  authz.decision     bob                   UpdateProject        project:p-1\n2026-11-20T10:00:09.000Z  authz.decision  alice  fake row  FAIL UNAVAILABLE  edit\x7for on project:p-1\n2026-11-20T10:00:09.000Z  authz.decision  alice  fake row -> error (\x9b31mred\x85)`,
  String.raw`2026-11-20T10:00:00.000Z  authn.result       mallory\x1b[2J\x1b[H  Get\x1b]0;pwned\x07                                                                          ok OK             jwt accepted`,
  "(4 events)",
];

/** What `tail --from-start` prints for them (oldest first, fixed column widths). */
const TAIL_TABLE = [
  "time                      kind               actor       operation      target          result                       detail",
  "------------------------  -----------------  ----------  -------------  --------------  ---------------------------  ------",
  String.raw`2026-11-20T10:00:00.000Z  authn.result       mallory\x1b[2J\x1b[H  Get\x1b]0;pwned\x07                  ok OK                        jwt accepted`,
  String.raw`2026-11-20T10:00:01.000Z  authz.decision     bob         UpdateProject  project:p-1\n2026-11-20T10:00:09.000Z  authz.decision  alice  fake row  FAIL UNAVAILABLE             edit\x7for on project:p-1\n2026-11-20T10:00:09.000Z  authz.decision  alice  fake row -> error (\x9b31mred\x85)`,
  String.raw`2026-11-20T10:00:02.000Z  tuple.change       alice       AddMember      project:\u2066p-2\u2069  ok OK                        write user:\u202eevil\u202c viewer project:\u2066p-2\u2069`,
  String.raw`2026-11-20T10:00:03.000Z  resource.mutation  carol\x00   DeleteProject  project:p-3\r\t\\x1b  FAIL NOT_FOUND               delete project:p-3\r\t\\x1b`,
];

/** The top operations section of `stats` (the hostile operation is the only stored text it shows). */
const STATS_OPERATIONS = [
  "top operations                                  count",
  "----------------------------------------------  -----",
  "/example.v1.ProjectService/AddMember            1",
  "/example.v1.ProjectService/DeleteProject        1",
  String.raw`/example.v1.ProjectService/Get\x1b]0;pwned\x07  1`,
  "/example.v1.ProjectService/UpdateProject        1",
];

describe("stored text in table mode is printed visibly; JSON stays exact", () => {
  let db: string;
  let store: AuditStore;
  let events: AuditEvent[];

  beforeAll(async () => {
    db = join(tempDir(), "hostile.db");
    store = openAuditStore({ path: db });
    events = hostileEvents();
    store.insert(events);
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  it("query prints one line per event, every control character escaped", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toBe(`${QUERY_TABLE.join("\n")}\n`);
    expect(run.stdout).not.toMatch(CONTROL);
  });

  it("tail prints one line per event, every control character escaped", async () => {
    const run = tailCli(["--db", db, "--from-start"]);
    await run.until(() => run.lines().length >= TAIL_TABLE.length, "every event");
    expect(await run.interrupt()).toBe(0);
    expect(run.out.stdout).toBe(`${TAIL_TABLE.join("\n")}\n`);
    expect(run.out.stdout).not.toMatch(CONTROL);
  });

  it("stats prints the stored operation names escaped", async () => {
    const run = await runCli(["stats", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout.split("\n\n")[4]).toBe(STATS_OPERATIONS.join("\n"));
    expect(run.stdout).not.toMatch(CONTROL);
  });

  it("query --json, --ndjson and tail --json give back the exact stored strings, with no raw control character", async () => {
    const json = await runCli(["query", "--db", db, "--json"]);
    const ndjson = await runCli(["query", "--db", db, "--ndjson"]);
    const tail = tailCli(["--db", db, "--from-start", "--json"]);
    await tail.until(() => tail.lines().length >= events.length, "every event");
    expect(await tail.interrupt()).toBe(0);
    const newestFirst = [...events].reverse().map(eventToJson);
    expect(JSON.parse(json.stdout)).toStrictEqual({ events: newestFirst, nextCursor: null });
    expect(
      ndjson.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toStrictEqual(newestFirst);
    expect(tail.lines().map((line) => JSON.parse(line))).toStrictEqual(events.map(eventToJson));
    expect(JSON.parse(json.stdout).events[3].actor.id).toBe("mallory\u001b[2J\u001b[H");
    expect(JSON.parse(json.stdout).events[1].tupleChange.tuples[0].user).toBe("user:\u202eevil\u202c");
    for (const out of [json.stdout, ndjson.stdout, tail.out.stdout]) expect(out).not.toMatch(CONTROL);
  });
});
