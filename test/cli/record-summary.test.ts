// The CLI knows record.summary events: `query --type record.summary` selects them, the table shows what
// they counted, and `stats` counts them by their dotted name.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runInAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { fixedScope } from "../helpers/recorder.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

/** A denied check, then, on close, the summary of five allowed ones by two actors (one held key too many). */
async function events(): Promise<AuditEvent[]> {
  const memory = createMemoryEmitter();
  let n = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n++ * 1000),
    monotonicNowMs: () => 10_000,
    record: { "authz.decision": "failures" },
    maxSkippedKeys: 1,
  });
  const check = { relation: "viewer", objectType: "project", objectId: "p-1" } as const;
  for (const actor of ["alice", "alice", "alice", "bob", "bob"]) {
    runInAuditScope(fixedScope({ operation: "/example.v1.ProjectService/GetProject" }), () =>
      recorder.recordAuthzDecision({ ...check, decision: "allowed", actor: { id: actor } }),
    );
  }
  recorder.recordAuthzDecision({ ...check, decision: "denied", actor: { id: "carol" } });
  await recorder.close();
  return [...memory.events];
}

describe("query and stats with record.summary events", () => {
  let db: string;
  let stored: AuditEvent[];

  beforeAll(async () => {
    db = join(tempDir(), "summary.db");
    const store = openAuditStore({ path: db });
    stored = await events();
    store.insert(stored);
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  it("shows what a summary counted in the table", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout.split("\n").map((line) => line.replace(/ +/g, " "))).toStrictEqual([
      "time kind actor operation target result detail",
      expect.stringMatching(/^-+ -+ -+ -+ -+ -+ -+$/),
      "2026-11-20T10:00:02.000Z record.summary grpc-audit ok OK 5 skipped successes (1 key, 2 beyond them)",
      expect.stringMatching(/^2026-11-20T10:00:01.000Z authz.decision carol .* denied/),
      "(2 events)",
      "",
    ]);
  });

  it("query --type record.summary selects the summaries", async () => {
    const run = await runCli(["query", "--db", db, "--type", "record.summary", "--json"]);
    expect(JSON.parse(run.stdout).events).toStrictEqual([eventToJson(stored[1] as AuditEvent)]);
    expect(JSON.parse(run.stdout).events[0].recordSummary).toStrictEqual({
      since: "2026-11-20T10:00:00.000Z",
      counts: [
        {
          kind: "authz.decision",
          actorId: "alice",
          operation: "/example.v1.ProjectService/GetProject",
          count: 3,
        },
      ],
      overflow: 2,
    });
  });

  it("stats counts them by their dotted name", async () => {
    const run = await runCli(["stats", "--db", db, "--json"]);
    expect(JSON.parse(run.stdout).byType).toStrictEqual({ "authz.decision": 1, "record.summary": 1 });
  });
});
