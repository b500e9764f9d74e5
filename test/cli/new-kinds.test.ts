// The CLI and the store know the kinds of event schema 2: `query --type` and `stats` take
// resource.access and chain.checkpoint, and the table shows reads, checkpoints and attributes.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runInAuditScope, setAuditAttribute } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { fixedScope } from "../helpers/recorder.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

/** A read with attributes, a plain read, a mutation, and a final checkpoint, one second apart. */
function events(): AuditEvent[] {
  const memory = createMemoryEmitter();
  let n = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n++ * 1000),
    monotonicNowMs: () => 10_000,
  });
  const read = { operation: "/example.v1.ProjectService/GetProject", actor: { id: "bob" } };
  runInAuditScope(fixedScope({ startedAtMs: 10_000 }), () => {
    setAuditAttribute("tenant", "acme");
    recorder.recordResourceAccess({
      ...read,
      resourceType: "project",
      resourceId: "p-1",
      attributes: { reason: "support\nticket" },
    });
  });
  recorder.recordResourceAccess({ ...read, resourceType: "project", resourceId: "p-2" });
  recorder.recordResourceMutation({
    operation: "/example.v1.ProjectService/DeleteProject",
    actor: { id: "alice" },
    mutation: "delete",
    resourceType: "project",
    resourceId: "p-2",
  });
  // Checkpoints are the chain's own events; this one is written as the chain would write it.
  const checkpoint: AuditEvent = {
    ...(memory.events[2] as AuditEvent),
    eventId: "evt-checkpoint",
    eventType: EventType.EVENT_TYPE_CHAIN_CHECKPOINT,
    occurredAt: new Date(T0 + 3000),
    operation: "",
    actor: undefined,
    target: undefined,
    result: { success: true, code: "OK", message: "" },
    detail: {
      $case: "checkpoint",
      value: { headSeq: 3, headHash: "ab12".repeat(16), keyId: "k-2026", signature: "c2ln", final: true },
    },
  };
  return [...memory.events, checkpoint];
}

describe("query and stats with access and checkpoint events", () => {
  let db: string;
  let stored: AuditEvent[];

  beforeAll(async () => {
    db = join(tempDir(), "kinds.db");
    const store = openAuditStore({ path: db });
    stored = events();
    store.insert(stored);
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  it("shows reads, a checkpoint and attributes in the table, stored text made visible", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout.split("\n").map((line) => line.replace(/ +/g, " "))).toStrictEqual([
      "time kind actor operation target result detail",
      expect.stringMatching(/^-+ -+ -+ -+ -+ -+ -+$/),
      "2026-11-20T10:00:03.000Z chain.checkpoint ok OK final checkpoint of seq 3 (ab12ab12ab12), key k-2026",
      "2026-11-20T10:00:02.000Z resource.mutation alice DeleteProject project:p-2 ok OK delete project:p-2",
      "2026-11-20T10:00:01.000Z resource.access bob GetProject project:p-2 ok OK read project:p-2",
      String.raw`2026-11-20T10:00:00.000Z resource.access bob GetProject project:p-1 ok OK 0.0ms read project:p-1 {reason=support\nticket, tenant=acme}`,
      "(4 events)",
      "",
    ]);
  });

  it("query --type resource.access,chain.checkpoint selects those kinds", async () => {
    const reads = await runCli(["query", "--db", db, "--type", "resource.access", "--json"]);
    expect(JSON.parse(reads.stdout).events).toStrictEqual([stored[1], stored[0]].map(eventToJson));
    const checkpoints = await runCli(["query", "--db", db, "--type", "chain.checkpoint", "--ndjson"]);
    expect(JSON.parse(checkpoints.stdout)).toStrictEqual(eventToJson(stored[3] as AuditEvent));
  });

  it("stats counts every kind by its dotted name", async () => {
    const run = await runCli(["stats", "--db", db, "--json"]);
    expect(JSON.parse(run.stdout).byType).toStrictEqual({
      "chain.checkpoint": 1,
      "resource.access": 2,
      "resource.mutation": 1,
    });
  });
});
