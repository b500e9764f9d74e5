// The SQLite store across its schema versions, on real files: a store of an older version read without
// migrating it (the CLI opens read-only), positions never given twice (schema 4), attribute keys that are
// JavaScript property names.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { writeOldStore } from "../helpers/old-store.js";

/** `times.length` mutations by the real Recorder, one at each time (ms since the epoch). */
function eventsAt(times: readonly number[], attributes?: Record<string, string>): AuditEvent[] {
  const memory = createMemoryEmitter({ capacity: times.length });
  let i = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(times[i] as number),
  });
  for (; i < times.length; i++) {
    recorder.recordResourceMutation({
      mutation: "update",
      resourceType: "project",
      resourceId: `p-${i}`,
      operation: "/example.v1.ProjectService/UpdateProject",
      actor: { id: "alice" },
      ...(attributes === undefined ? {} : { attributes }),
    });
  }
  return [...memory.events];
}

const tempPath = (name = "audit.db") => join(mkdtempSync(join(tmpdir(), "grpc-audit-schema-")), name);

describe("audit store schema versions", () => {
  const stores: AuditStore[] = [];
  const open = (path = tempPath(), readonly = false) => {
    const store = openAuditStore({ path, readonly });
    stores.push(store);
    return store;
  };
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });

  it("a store of schema version 1 opened read-only (as query, stats and tail open it) answers stats and tail", () => {
    const path = tempPath("v1.db");
    const memory = createMemoryEmitter({ capacity: 2 });
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    recorder.recordResourceAccess({ resourceType: "project", resourceId: "p-1", requestId: "req-0" });
    recorder.recordAuthzDecision({
      relation: "editor",
      objectType: "project",
      objectId: "p-1",
      decision: "denied",
      requestId: "req-1",
    });
    const events = [...memory.events];
    const v1 = writeOldStore(path, 1, events);
    v1.close();

    const store = open(path, true);
    expect(store.query({}).events).toHaveLength(2);
    expect(store.stats().total).toBe(2);
    expect(store.stats().byDecision).toStrictEqual({ denied: 1 });
    expect(store.query({ decision: "denied" }).events.map((e) => e.eventId)).toStrictEqual([
      events[1]?.eventId,
    ]);
    expect(store.query({ requestId: "req-1" }).events.map((e) => e.eventId)).toStrictEqual([
      events[1]?.eventId,
    ]);
    expect(store.tail(0)).toStrictEqual({ events, lastSeq: 2 }); // no row reported as edited
    // Opened read-only, the file itself is left as it was.
    store.close();
    stores.length = 0;
    const raw = new BetterSqlite3(path, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(1);
    raw.close();
  });

  it("tail never misses events stored after a prune removed the newest rows (their seq is not reused)", () => {
    const path = tempPath();
    const store = open(path);
    const old = Date.parse("2020-01-01T00:00:00.000Z");
    store.insert(eventsAt([old, old + 1, old + 2]));
    // A follower (grpc-audit tail) has seen everything up to here.
    const follower = open(path, true);
    const seen = follower.lastSeq();
    expect(seen).toBe(3);
    expect(store.prune({ before: new Date(old + 1000) })).toBe(3);
    const fresh = eventsAt([Date.now(), Date.now() + 1]);
    store.insert(fresh);
    expect(follower.tail(seen).events.map((e) => e.eventId)).toStrictEqual(fresh.map((e) => e.eventId));
  });

  it("a store of schema version 3 gets positions that are never reused once it is opened read-write", () => {
    const path = tempPath("v3.db");
    const old = Date.parse("2020-01-01T00:00:00.000Z");
    const stored = eventsAt([old, old + 1]);
    const v3 = writeOldStore(path, 3, stored);
    v3.close();
    const store = open(path);
    expect(store.query({}, { limit: 10 }).events).toStrictEqual([...stored].reverse());
    expect(store.query({ actorId: "alice" }, { limit: 10 }).events).toHaveLength(2); // indexes are back
    expect(store.prune({ before: new Date(old + 1000) })).toBe(2);
    store.insert(eventsAt([Date.now()]));
    expect(store.lastSeq()).toBe(3);
  });

  it('keeps an attribute keyed "__proto__" through insert and query', () => {
    const store = open();
    const [event] = eventsAt([Date.parse("2026-11-20T00:00:00.000Z")], JSON.parse('{"__proto__":"entry"}'));
    if (event === undefined) throw new Error("no event");
    store.insert([event]);
    const [back] = store.query({}).events;
    expect(Object.keys(back?.attributes ?? {})).toStrictEqual(["__proto__"]);
    expect(back).toStrictEqual(event);
  });
});
