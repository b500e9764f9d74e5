import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

/** Invisible format characters (Unicode category Cf): zero-width space, joiners, word joiner, BOM, soft hyphen, a tag. */
const INVISIBLE = /\p{Cf}/u;

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

/**
 * Two events that print alike if invisible characters stay invisible: alice's, and one whose actor and
 * target ids only look like alice and p-1.
 */
function lookalikeEvents(): AuditEvent[] {
  const memory = createMemoryEmitter();
  let n = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n * 1000),
  });
  const mutation = (actor: string, resourceId: string) =>
    recorder.recordResourceMutation({
      operation: "/example.v1.ProjectService/DeleteProject",
      actor: { id: actor },
      mutation: "delete",
      resourceType: "project",
      resourceId,
      result: { success: true, code: 0 },
    });
  mutation("alice", "p-1");
  n++;
  mutation("al\u200bi\u200cc\u200de\u2060", "p\u00ad-1\ufeff\u{e0041}");
  return [...memory.events];
}

/** What `query` prints for them (newest first): each invisible character written as an escape. */
const QUERY_TABLE = [
  "time                      kind               actor                          operation      target                          result  detail",
  "------------------------  -----------------  -----------------------------  -------------  ------------------------------  ------  -------------------------------------",
  String.raw`2026-11-20T10:00:01.000Z  resource.mutation  al\u200bi\u200cc\u200de\u2060  DeleteProject  project:p\xad-1\ufeff\u{e0041}  ok OK   delete project:p\xad-1\ufeff\u{e0041}`,
  "2026-11-20T10:00:00.000Z  resource.mutation  alice                          DeleteProject  project:p-1                     ok OK   delete project:p-1",
  "(2 events)",
];

describe("invisible characters in stored text are printed visibly; JSON stays exact", () => {
  let db: string;
  let store: AuditStore;
  let events: AuditEvent[];

  beforeAll(async () => {
    db = join(tempDir(), "lookalike.db");
    store = openAuditStore({ path: db });
    events = lookalikeEvents();
    store.insert(events);
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  it("query tells a look-alike actor and target from the real ones", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toBe(`${QUERY_TABLE.join("\n")}\n`);
    expect(run.stdout).not.toMatch(INVISIBLE);
  });

  it("query --json gives back the exact stored strings, with no raw invisible character", async () => {
    const run = await runCli(["query", "--db", db, "--json"]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(run.stdout)).toStrictEqual({
      events: [...events].reverse().map(eventToJson),
      nextCursor: null,
    });
    expect(JSON.parse(run.stdout).events[0].target.id).toBe("p\u00ad-1\ufeff\u{e0041}");
    expect(run.stdout).not.toMatch(INVISIBLE);
  });
});
