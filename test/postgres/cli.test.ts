// `grpc-audit query|stats|tail|prune --db postgres://…` as a child process against a real PostgreSQL,
// compared with what the store itself returns; and a server it cannot reach is one line, exit 1,
// without the password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, SEED_T0, seedEvents, tailCli } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

describe("grpc-audit with --db postgres://", () => {
  let server: PostgresServer;
  let url: string;
  let store: PostgresStore;
  const events = seedEvents(60);

  beforeAll(async () => {
    [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
    url = await server.createDatabase();
    store = await openPostgresStore({ connectionString: url });
    await store.insert(events.slice(0, 50));
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it("query pages through the events as the store does, and filters", async () => {
    const first = await runCli(["query", "--db", url, "--json", "--limit", "20", "--actor", "bob"]);
    expect([first.code, first.stderr]).toStrictEqual([0, ""]);
    const page = await store.query({ actorId: "bob" }, { limit: 20 });
    expect(JSON.parse(first.stdout)).toStrictEqual({
      events: page.events.map(eventToJson),
      nextCursor: page.nextCursor ?? null,
    });
    const all = await runCli(["query", "--db", url, "--ndjson", "--all", "--limit", "7"]);
    expect(all.code).toBe(0);
    const lines = all.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).eventId);
    expect(lines).toStrictEqual((await store.query({}, { limit: 1000 })).events.map((e) => e.eventId));
  });

  it("stats agrees with the store, and prune --dry-run counts without deleting", async () => {
    const stats = await runCli(["stats", "--db", url, "--json", "--type", "authz.decision"]);
    expect([stats.code, stats.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(stats.stdout)).toStrictEqual(await store.stats({ type: "authz.decision" }));
    const before = new Date(SEED_T0 + 70 * 60_000).toISOString();
    const dry = await runCli(["prune", "--db", url, "--before", before, "--dry-run", "--json"]);
    expect([dry.code, dry.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(dry.stdout)).toStrictEqual({
      deleted: 10,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
      anchoredChains: 0,
      wholeChains: 0,
      unsignedChains: 2, // seedEvents: two Recorders without a signing key
      unchained: 0,
      before,
      dryRun: true,
      cutChains: false,
    });
    expect((await store.stats()).total).toBe(50);
  });

  it("tail follows events inserted while it runs", async () => {
    const run = tailCli(["--db", url, "--json"]);
    await run.ready();
    expect(run.out.stderr).toBe(`following ${url} (Ctrl-C to stop)\n`);
    await store.insert(events.slice(50, 55));
    await run.until(() => run.lines().length >= 5, "5 lines");
    expect(await run.interrupt()).toBe(0);
    expect(run.lines().map((l) => JSON.parse(l).eventId)).toStrictEqual(
      events.slice(50, 55).map((e) => e.eventId),
    );
  });

  it("prune deletes the older events", async () => {
    const before = new Date(SEED_T0 + 70 * 60_000).toISOString();
    const run = await runCli(["prune", "--db", url, "--before", before, "--json"]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(run.stdout)).toStrictEqual({
      deleted: 10,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
      anchoredChains: 0,
      wholeChains: 0,
      unsignedChains: 2, // seedEvents: two Recorders without a signing key
      unchained: 0,
      before,
      dryRun: false,
      cutChains: false,
    });
    expect((await store.stats({ to: new Date(before) })).total).toBe(0);
  });

  it("a server it cannot reach is exit 1 with one line naming it, never the password", async () => {
    const run = await runCli(["stats", "--db", "postgres://audit:s3cret-pw@127.0.0.1:1/audit"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: postgres store postgres:\/\/audit@127\.0\.0\.1:1\/audit: .*ECONNREFUSED.*\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain("s3cret-pw");
  });
});
