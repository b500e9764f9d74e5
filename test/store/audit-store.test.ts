import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import { eventKind } from "../../src/event/kinds.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import { MIGRATIONS, migrate, SCHEMA_VERSION } from "../../src/store/schema.js";
import { writeOldStore } from "../helpers/old-store.js";

const T0 = Date.parse("2026-11-20T00:00:00.000Z");
const ACTORS = ["alice", "bob", "carol"];
const OPERATIONS = [
  "/example.v1.ProjectService/CreateProject",
  "/example.v1.ProjectService/UpdateProject",
  "/example.v1.ProjectService/DeleteProject",
];
const DECISIONS = ["allowed", "denied", "no_rule", "error"] as const;

/**
 * `count` events of all four kinds, made by the real Recorder, spread over a few days (one every
 * 7 minutes), with actors, operations, targets, results and decisions varying independently.
 */
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function makeEvents(count: number, startIndex = 0): AuditEvent[] {
  const memory = createMemoryEmitter({ capacity: count });
  let n = startIndex;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n * 7 * 60_000),
  });
  for (; n < startIndex + count; n++) {
    const context = {
      operation: OPERATIONS[n % 3] as string,
      actor: { id: ACTORS[n % ACTORS.length] as string },
      requestId: `req-${n % 7}`,
      traceId: n % 3 === 0 ? TRACE : "",
      result: { success: n % 5 !== 0, code: n % 5 === 0 ? 7 : 0 },
    };
    const project = `p-${n % 11}`;
    switch (n % 4) {
      case 0:
        recorder.recordAuthnResult({ ...context, method: "jwt", success: true });
        break;
      case 1:
        recorder.recordAuthzDecision({
          ...context,
          relation: "editor",
          objectType: "project",
          objectId: project,
          decision: DECISIONS[(n >> 2) % 4] as (typeof DECISIONS)[number],
        });
        break;
      case 2:
        recorder.recordTupleChange({
          ...context,
          tuples: [
            { operation: "write", user: "user:bob", relation: "viewer", object: `project:${project}` },
          ],
          target: { type: "project", id: project },
        });
        break;
      default:
        recorder.recordResourceMutation({
          ...context,
          mutation: "update",
          resourceType: "project",
          resourceId: project,
        });
    }
  }
  return [...memory.events];
}

/** The reference semantics of a filter, applied in memory, newest first. */
function expected(events: readonly AuditEvent[], filter: AuditQuery): string[] {
  const decision = (e: AuditEvent) =>
    e.detail?.$case === "authz" ? e.detail.value.decision.replace("AUTHZ_DECISION_", "").toLowerCase() : "";
  const types =
    filter.type === undefined ? undefined : typeof filter.type === "string" ? [filter.type] : filter.type;
  return events
    .filter((e) => filter.from === undefined || (e.occurredAt?.getTime() ?? 0) >= filter.from.getTime())
    .filter((e) => filter.to === undefined || (e.occurredAt?.getTime() ?? 0) < filter.to.getTime())
    .filter((e) => types === undefined || types.includes(eventKind(e.eventType) as never))
    .filter((e) => filter.actorId === undefined || e.actor?.id === filter.actorId)
    .filter((e) => filter.targetType === undefined || e.target?.type === filter.targetType)
    .filter((e) => filter.targetId === undefined || e.target?.id === filter.targetId)
    .filter((e) => filter.operation === undefined || e.operation === filter.operation)
    .filter((e) => filter.success === undefined || e.result?.success === filter.success)
    .filter((e) => filter.decision === undefined || decision(e) === filter.decision)
    .filter((e) => filter.requestId === undefined || e.requestId === filter.requestId)
    .filter((e) => filter.traceId === undefined || e.traceId === filter.traceId)
    .sort((a, b) => (b.occurredAt?.getTime() ?? 0) - (a.occurredAt?.getTime() ?? 0))
    .map((e) => e.eventId);
}

function allPages(store: AuditStore, filter: AuditQuery, limit: number, between?: () => void): AuditEvent[] {
  const seen: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = store.query(filter, cursor === undefined ? { limit } : { limit, cursor });
    seen.push(...page.events);
    cursor = page.nextCursor;
    between?.();
  } while (cursor !== undefined);
  return seen;
}

describe("audit store", () => {
  const stores: AuditStore[] = [];
  const open = (path = join(mkdtempSync(join(tmpdir(), "grpc-audit-store-")), "audit.db")) => {
    const store = openAuditStore({ path });
    stores.push(store);
    return store;
  };
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });

  it("stores whole events and gives them back unchanged, skipping an id stored twice", () => {
    const store = open();
    const events = makeEvents(8);
    expect(store.insert(events)).toBe(8);
    expect(store.insert(events.slice(0, 3))).toBe(0); // at-least-once delivery re-sends batches
    const { events: back } = store.query({}, { limit: 100 });
    expect(back).toStrictEqual([...events].reverse());
  });

  it.each<[string, AuditQuery]>([
    ["no filter", {}],
    ["one actor", { actorId: "alice" }],
    ["a type and an actor", { type: "authz.decision", actorId: "bob" }],
    ["two types", { type: ["tuple.change", "resource.mutation"] }],
    ["a target", { targetType: "project", targetId: "p-3" }],
    [
      "an operation and a time range",
      { operation: OPERATIONS[1], from: new Date(T0 + 86_400_000), to: new Date(T0 + 2 * 86_400_000) },
    ],
    ["failures of one actor", { success: false, actorId: "carol" }],
    ["denied decisions", { decision: "denied" }],
    ["decisions in error for a target", { decision: "error", targetId: "p-5" }],
    ["a filter nothing matches", { actorId: "mallory" }],
    ["the events of one call", { requestId: "req-3" }],
    ["the events of one trace", { traceId: TRACE }],
    ["one call's authz decisions", { requestId: "req-2", type: "authz.decision" }],
  ])("filters combine correctly: %s", (_name, filter) => {
    const store = open();
    const events = makeEvents(600);
    store.insert(events);
    expect(allPages(store, filter, 1000).map((e) => e.eventId)).toStrictEqual(expected(events, filter));
    expect(store.stats(filter).total).toBe(expected(events, filter).length);
  });

  it("pagination visits every matching event exactly once while inserts continue", () => {
    const store = open();
    const events = makeEvents(1200);
    store.insert(events);
    const filter: AuditQuery = { actorId: "alice" };
    let more = 5000;
    const seen = allPages(store, filter, 37, () => {
      // Newer and older events keep arriving between pages.
      store.insert([...makeEvents(10, more), ...makeEvents(5, -(more - 4990) * 5)]);
      more += 10;
    });
    const ids = seen.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const seenIds = new Set(ids);
    expect(expected(events, filter).filter((id) => !seenIds.has(id))).toStrictEqual([]);
  });

  it("prune deletes exactly the events older than the given time", () => {
    const store = open();
    const events = makeEvents(300);
    store.insert(events);
    const before = new Date(T0 + 1000 * 60_000);
    const older = events.filter((e) => (e.occurredAt?.getTime() ?? 0) < before.getTime()).length;
    expect(store.prune({ before })).toBe(older);
    expect(allPages(store, {}, 1000).map((e) => e.eventId)).toStrictEqual(expected(events, { from: before }));
    expect(() => store.prune({ before: new Date("nope") })).toThrow("prune needs `before`, a valid Date");
  });

  it("counts by type, result, decision, operation and hour", () => {
    const store = open();
    const events = makeEvents(40);
    store.insert(events);
    const stats = store.stats();
    expect(stats.total).toBe(40);
    expect(stats.byType).toStrictEqual({
      "authn.result": 10,
      "authz.decision": 10,
      "resource.mutation": 10,
      "tuple.change": 10,
    });
    expect(stats.byResult).toStrictEqual({ failure: 8, success: 32 });
    expect(stats.byDecision).toStrictEqual({ allowed: 3, denied: 3, error: 2, no_rule: 2 });
    expect(stats.topOperations).toStrictEqual(
      OPERATIONS.map((operation, i) => ({
        operation,
        count: events.filter((e) => e.operation === OPERATIONS[i]).length,
      })).sort((a, b) => b.count - a.count || a.operation.localeCompare(b.operation)),
    );
    expect(stats.perHour.reduce((sum, h) => sum + h.count, 0)).toBe(40);
    expect(stats.perHour[0]).toStrictEqual({ hour: "2026-11-20T00:00:00.000Z", count: 9 }); // minutes 0..56
  });

  it("follows new events in insertion order with tail", () => {
    const store = open();
    store.insert(makeEvents(5));
    const start = store.lastSeq();
    const newer = makeEvents(3, 100);
    store.insert(newer);
    expect(store.tail(start)).toStrictEqual({ events: newer, lastSeq: start + 3 });
    expect(store.tail(start + 3)).toStrictEqual({ events: [], lastSeq: start + 3 });
  });

  it("migrates a store written by schema version 1, backfilling authz decisions, request and trace ids", () => {
    const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-store-")), "v1.db");
    const events = makeEvents(20);
    const v1 = writeOldStore(path, 1, events);
    expect(v1.pragma("user_version", { simple: true })).toBe(1);
    v1.close();

    const store = open(path);
    expect(MIGRATIONS).toHaveLength(SCHEMA_VERSION);
    expect(allPages(store, { decision: "denied" }, 100).map((e) => e.eventId)).toStrictEqual(
      expected(events, { decision: "denied" }),
    );
    expect(allPages(store, {}, 100)).toHaveLength(20);
    expect(allPages(store, { requestId: "req-3" }, 100).map((e) => e.eventId)).toStrictEqual(
      expected(events, { requestId: "req-3" }),
    );
    expect(allPages(store, { traceId: TRACE }, 100).map((e) => e.eventId)).toStrictEqual(
      expected(events, { traceId: TRACE }),
    );
    store.close();
    stores.length = 0;
    const reopened = new BetterSqlite3(path, { readonly: true });
    expect(reopened.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    reopened.close();
  });

  it("migrates a store of schema version 2 with an undecodable row: it opens, the good rows get their ids", () => {
    const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-store-")), "v2.db");
    const [good] = makeEvents(1);
    if (good === undefined) throw new Error("no event");
    const v2 = new BetterSqlite3(path);
    migrate(v2, 2);
    const insert = v2.prepare(
      "INSERT INTO events (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, event) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    );
    const row = (id: string, bytes: Uint8Array) =>
      insert.run(id, "authn.result", T0, "projects", "/x", "alice", "", "", 1, "OK", "", bytes);
    row(good.eventId, encodeEvent(good));
    row("bad", Uint8Array.of(0xff, 0xff, 0xff));
    v2.close();

    const store = open(path);
    expect(store.query({ requestId: good.requestId }).events.map((e) => e.eventId)).toStrictEqual([
      good.eventId,
    ]);
    expect(store.query({}).undecodable?.map((r) => r.eventId)).toStrictEqual(["bad"]);
  });

  it("rejects bad filters and pages with precise errors", () => {
    const store = open();
    const cases: [() => unknown, string][] = [
      [
        () => store.query({ type: "authz.nope" as never }),
        "audit query: `type` must be among authn.result, authz.decision, tuple.change, resource.mutation",
      ],
      [() => store.query({ from: new Date("x") }), "audit query: `from` must be a valid Date"],
      [
        () => store.query({ decision: "maybe" as never }),
        "audit query: `decision` must be among allowed, denied, no_rule, error",
      ],
      [() => store.query({ actorId: 5 as never }), "audit query: `actorId` must be a string"],
      [() => store.query({}, { limit: 0 }), "audit query: `limit` must be an integer from 1 to 1000"],
      [() => store.query({}, { cursor: "garbage" }), "audit query: the cursor is not one this store made"],
    ];
    for (const [run, message] of cases) {
      expect(run).toThrow(AuditInputError);
      expect(run).toThrow(message);
    }
  });

  it("refuses to open a missing folder, a file that is not a database, or a newer schema", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpc-audit-store-"));
    expect(() => openAuditStore({ path: join(dir, "no/such/dir/audit.db") })).toThrow(AuditConfigError);
    expect(() => openAuditStore({ path: join(dir, "no/such/dir/audit.db") })).toThrow(
      "Cannot open database because the directory does not exist",
    );
    const garbage = join(dir, "garbage.db");
    writeFileSync(
      garbage,
      "this is not sqlite, just some text that is long enough to be read as a header....",
    );
    expect(() => openAuditStore({ path: garbage })).toThrow("the file is not a SQLite database");
    const future = join(dir, "future.db");
    const db = new BetterSqlite3(future);
    db.pragma("user_version = 99");
    db.close();
    expect(() => openAuditStore({ path: future })).toThrow(
      `schema version 99, newer than this library's ${SCHEMA_VERSION}`,
    );
    expect(() => openAuditStore({ path: join(dir, "missing.db"), readonly: true })).toThrow(AuditConfigError);
  });

  it.each([
    [
      "a NUL in the path (SQLite would open the file named by the part before it)",
      { path: "audit\0.db" },
      "audit store: `path` must not contain a NUL character",
    ],
    [
      "a busyTimeoutMs that is not a whole number",
      { path: "audit.db", busyTimeoutMs: 1.5 },
      "audit store: `busyTimeoutMs` must be a whole number of ms from 0 to 2147483647, got 1.5",
    ],
    [
      "a busyTimeoutMs longer than a timer holds",
      { path: "audit.db", busyTimeoutMs: 2 ** 40 },
      "audit store: `busyTimeoutMs` must be a whole number of ms from 0 to 2147483647, got 1099511627776",
    ],
    [
      "a readonly that is not a boolean",
      { path: "audit.db", readonly: "no" },
      "audit store: `readonly` must be a boolean",
    ],
  ])("refuses %s naming the option, before creating any file", (_name, options, message) => {
    const dir = mkdtempSync(join(tmpdir(), "grpc-audit-store-"));
    const opened = { ...options, path: join(dir, options.path) } as never;
    expect(() => openAuditStore(opened)).toThrow(AuditConfigError);
    expect(() => openAuditStore(opened)).toThrow(message);
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("reports a database locked by another writer instead of hanging", () => {
    const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-store-")), "locked.db");
    open(path).close();
    stores.length = 0;
    const other = new BetterSqlite3(path);
    other.exec("BEGIN EXCLUSIVE");
    try {
      const store = openAuditStore({ path, busyTimeoutMs: 50 });
      stores.push(store);
      expect(() => store.insert(makeEvents(1))).toThrow(/locked|busy/i);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });

  it("creates the database and its -wal and -shm files readable by their owner only (0600)", () => {
    const previous = process.umask(0o022); // the usual umask, which leaves new files world-readable
    try {
      const path = join(mkdtempSync(join(tmpdir(), "grpc-audit-store-")), "audit.db");
      const store = open(path);
      store.insert(makeEvents(3));
      const modes = ["", "-wal", "-shm"].map((suffix) => [suffix, statSync(path + suffix).mode & 0o777]);
      expect(modes).toStrictEqual([
        ["", 0o600],
        ["-wal", 0o600],
        ["-shm", 0o600],
      ]);
    } finally {
      process.umask(previous);
    }
  });

  it("works as a sink for the delivery pipeline", async () => {
    const store = open();
    const events = makeEvents(5);
    await store.sink().write(events);
    expect(store.stats().total).toBe(5);
  });
});
