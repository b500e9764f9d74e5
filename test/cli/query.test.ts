import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import {
  BUILD_TIMEOUT_MS,
  ensureBuilt,
  runCli,
  SEED_T0,
  SEED_TRACE_ID,
  seedEvents,
  tempDir,
} from "./helpers.js";

const COUNT = 120;
const at = (minutes: number) => new Date(SEED_T0 + minutes * 60_000);

describe.concurrent("grpc-audit query, stats and prune over a seeded store", () => {
  let db: string;
  let store: AuditStore;

  beforeAll(async () => {
    db = join(tempDir(), "audit.db");
    store = openAuditStore({ path: db });
    store.insert(seedEvents(COUNT));
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  async function query(
    args: readonly string[],
  ): Promise<{ events: Record<string, unknown>[]; nextCursor: string | null }> {
    const run = await runCli(["query", "--db", db, "--json", ...args]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    return JSON.parse(run.stdout);
  }
  const ids = (events: readonly { eventId?: unknown }[]) => events.map((e) => e.eventId);
  const expected = (filter: AuditQuery) => store.query(filter, { limit: 1000 }).events;

  const FILTERS: [string, string[], AuditQuery][] = [
    ["--from (ISO)", ["--from", "2026-11-20T05:00:00Z"], { from: at(300) }],
    ["--to (ISO, no zone = UTC)", ["--to", "2026-11-20T05:00"], { to: at(300) }],
    [
      "--from and --to",
      ["--from", "2026-11-20T02:00:00Z", "--to", "2026-11-20T03:30:00Z"],
      { from: at(120), to: at(210) },
    ],
    ["--type", ["--type", "authz.decision"], { type: "authz.decision" }],
    [
      "--type with two kinds",
      ["--type", "authn.result,tuple.change"],
      { type: ["authn.result", "tuple.change"] },
    ],
    ["--actor", ["--actor", "bob"], { actorId: "bob" }],
    ["--target-type", ["--target-type", "member"], { targetType: "member" }],
    [
      "--target-type with --target-id",
      ["--target-type", "project", "--target-id", "p-3"],
      { targetType: "project", targetId: "p-3" },
    ],
    [
      "--operation",
      ["--operation", "/example.v1.ProjectService/DeleteProject"],
      { operation: "/example.v1.ProjectService/DeleteProject" },
    ],
    ["--service", ["--service", "billing"], { service: "billing" }],
    ["--success", ["--success"], { success: true }],
    ["--failure", ["--failure"], { success: false }],
    ["--decision", ["--decision", "denied"], { decision: "denied" }],
    ["--request-id", ["--request-id", "req-7"], { requestId: "req-7" }],
    ["--trace-id", ["--trace-id", SEED_TRACE_ID], { traceId: SEED_TRACE_ID }],
    [
      "filters combined",
      ["--actor", "alice", "--failure", "--from", "2026-11-20T01:00:00Z"],
      { actorId: "alice", success: false, from: at(60) },
    ],
  ];

  it.each(FILTERS)("%s returns exactly the events the store matches", async (_name, args, filter) => {
    const want = expected(filter);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(COUNT); // the filter does filter
    const got = await query([...args, "--limit", "1000"]);
    expect(got).toStrictEqual({ events: want.map(eventToJson), nextCursor: null });
  });

  it("--ndjson prints one proto3 JSON event per line, the same as --json", async () => {
    const run = await runCli(["query", "--db", db, "--ndjson", "--actor", "carol", "--limit", "1000"]);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toStrictEqual(expected({ actorId: "carol" }).map(eventToJson));
  });

  it("pages with --limit and --cursor, and --all follows the cursors to the end", async () => {
    const first = await query(["--limit", "7"]);
    const storeFirst = store.query({}, { limit: 7 });
    expect(ids(first.events)).toStrictEqual(ids(storeFirst.events));
    expect(first.nextCursor).toBe(storeFirst.nextCursor);
    const second = await query(["--limit", "7", "--cursor", String(first.nextCursor)]);
    expect(ids(second.events)).toStrictEqual(
      ids(store.query({}, { limit: 7, cursor: String(first.nextCursor) }).events),
    );

    const all = await query(["--all", "--limit", "7"]);
    expect(all.nextCursor).toBeNull();
    expect(ids(all.events)).toStrictEqual(ids(expected({})));
    expect(new Set(ids(all.events)).size).toBe(COUNT);
    const ndjson = await runCli([
      "query",
      "--db",
      db,
      "--all",
      "--limit",
      "9",
      "--ndjson",
      "--type",
      "tuple.change",
    ]);
    expect(
      ndjson.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).eventId),
    ).toStrictEqual(ids(expected({ type: "tuple.change" })));
  });

  it("prints a table by default, with the cursor of the next page", async () => {
    const run = await runCli(["query", "--db", db, "--limit", "2", "--type", "resource.mutation"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^time\s+kind\s+actor\s+operation\s+target\s+result\s+detail$/);
    expect(
      lines.slice(2, 4).every((l) => /resource\.mutation\s+\w+\s+\w+Project\s+(project|member):p-\d/.test(l)),
    ).toBe(true);
    const next = store.query({ type: "resource.mutation" }, { limit: 2 }).nextCursor;
    expect(lines[4]).toBe(`(2 events; more with --cursor ${next}, or --all)`);
  });

  it("relative times count back from now", async () => {
    const dir = tempDir();
    const recent = join(dir, "recent.db");
    const memory = createMemoryEmitter();
    let ago = 0;
    const recorder = createRecorder({
      service: "s",
      emitters: [memory],
      now: () => new Date(Date.now() - ago),
    });
    for (ago of [3 * 3_600_000, 20 * 60_000])
      recorder.recordAuthnResult({ method: "jwt", success: true, actor: { id: "a" } });
    const recentStore = openAuditStore({ path: recent });
    recentStore.insert(memory.events);
    recentStore.close();
    const run = await runCli(["query", "--db", recent, "--from", "1h", "--json"]);
    expect(JSON.parse(run.stdout).events.map((e: { eventId: string }) => e.eventId)).toStrictEqual([
      memory.events[1]?.eventId,
    ]);
  });

  it("stats --json is the store's stats, with the same filters", async () => {
    const all = await runCli(["stats", "--db", db, "--json"]);
    expect([all.code, JSON.parse(all.stdout)]).toStrictEqual([0, store.stats()]);
    const denied = await runCli([
      "stats",
      "--db",
      db,
      "--json",
      "--type",
      "authz.decision",
      "--actor",
      "bob",
    ]);
    expect(JSON.parse(denied.stdout)).toStrictEqual(store.stats({ type: "authz.decision", actorId: "bob" }));
    const table = await runCli(["stats", "--db", db]);
    expect(table.stdout).toContain(`total events: ${COUNT}`);
    expect(table.stdout).toMatch(/authz\.decision\s+30\n/);
  });

  it("prune --before deletes exactly the older events; --dry-run only counts them", async () => {
    const pruneDb = join(tempDir(), "prune.db");
    const pruneStore = openAuditStore({ path: pruneDb });
    pruneStore.insert(seedEvents(COUNT));
    const older = pruneStore.stats({ to: at(301) }).total; // events at 0, 7, ..., 294 minutes: 43
    expect(older).toBe(43);

    const dry = await runCli(["prune", "--db", pruneDb, "--before", "2026-11-20T05:01:00Z", "--dry-run"]);
    expect([dry.code, dry.stdout]).toStrictEqual([
      0,
      "43 events would be deleted (occurred before 2026-11-20T05:01:00.000Z)\n" +
        "2 chains without checkpoints cut by time: verify reports their deleted seqs as missing from seq 1\n",
    ]);
    expect(pruneStore.stats().total).toBe(COUNT);

    const json = await runCli(["prune", "--db", pruneDb, "--before", "2026-11-20T05:01:00Z", "--json"]);
    expect(JSON.parse(json.stdout)).toStrictEqual({
      deleted: 43,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
      anchoredChains: 0,
      wholeChains: 0,
      unsignedChains: 2, // seedEvents: two Recorders without a signing key
      unchained: 0,
      before: "2026-11-20T05:01:00.000Z",
      dryRun: false,
      cutChains: false,
    });
    expect(pruneStore.stats().total).toBe(COUNT - 43);
    expect(pruneStore.query({ to: at(301) }).events).toHaveLength(0);

    const again = await runCli(["prune", "--db", pruneDb, "--before", "2026-11-20T05:01:00Z"]);
    expect(again.stdout).toBe("0 events deleted (occurred before 2026-11-20T05:01:00.000Z)\n");
    pruneStore.close();
  });
});
