import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tailCli, tempDir } from "./helpers.js";

/** Stored as the second row's event: a protobuf cut short (its event id says 5 bytes, 1 follows). */
const TRUNCATED = Buffer.from([0x0a, 0x05, 0x41]);
/** Stored as the third row's event, as TEXT: it must never be printed. */
const PAYLOAD = "SECRET-PAYLOAD-\u001b[2J";

describe("a stored event that cannot be decoded", () => {
  let db: string;
  let store: AuditStore;
  let events: AuditEvent[];
  let good: AuditEvent[];
  let expectedStderr: string;

  beforeAll(async () => {
    db = join(tempDir(), "damaged.db");
    store = openAuditStore({ path: db });
    events = seedEvents(4);
    store.insert(events);
    // Damage two rows behind the store's back, as a bad disk or another program could.
    const raw = new BetterSqlite3(db);
    raw.prepare("UPDATE events SET event = ? WHERE seq = 2").run(TRUNCATED);
    raw.prepare("UPDATE events SET event = ? WHERE seq = 3").run(PAYLOAD);
    raw.close();
    good = [events[0], events[3]].filter((e) => e !== undefined);
    expectedStderr = [
      `error: stored event ${events[2]?.eventId} (row 3) could not be decoded, skipped: the stored event is not a protobuf BLOB`,
      `error: stored event ${events[1]?.eventId} (row 2) could not be decoded, skipped: the stored bytes are not an AuditEvent (premature EOF)`,
      "error: 2 stored events could not be decoded (reported above); every other matching event was printed",
      "",
    ].join("\n");
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  it("query shows an error row in its place, prints the others, reports it on stderr and exits 1", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([1, expectedStderr]);
    expect(run.stdout).toBe(
      [
        "time                      kind               actor  operation      target       result                  detail",
        "------------------------  -----------------  -----  -------------  -----------  ----------------------  --------------------------------------------------------------------------------------------------------------------------------------",
        "2026-11-20T00:21:00.000Z  resource.mutation  bob    CreateProject  project:p-3  ok OK                   update project:p-3",
        `2026-11-20T00:14:00.000Z  unreadable                                                                    stored event ${events[2]?.eventId} (row 3) could not be decoded: the stored event is not a protobuf BLOB`,
        `2026-11-20T00:07:00.000Z  unreadable                                                                    stored event ${events[1]?.eventId} (row 2) could not be decoded: the stored bytes are not an AuditEvent (premature EOF)`,
        "2026-11-20T00:00:00.000Z  authn.result       alice  CreateProject               FAIL PERMISSION_DENIED  jwt accepted",
        "(2 events, 2 unreadable)",
        "",
      ].join("\n"),
    );
    expect(run.stdout + run.stderr).not.toContain("SECRET-PAYLOAD");
  });

  it("query --json and --ndjson skip it, report it on stderr and exit 1", async () => {
    const json = await runCli(["query", "--db", db, "--json"]);
    expect([json.code, json.stderr]).toStrictEqual([1, expectedStderr]);
    expect(JSON.parse(json.stdout)).toStrictEqual({
      events: [...good].reverse().map(eventToJson),
      nextCursor: null,
    });
    const ndjson = await runCli(["query", "--db", db, "--ndjson"]);
    expect([ndjson.code, ndjson.stderr]).toStrictEqual([1, expectedStderr]);
    expect(
      ndjson.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toStrictEqual([...good].reverse().map(eventToJson));
  });

  it("query pages past it: --limit 1 --all still prints every other event", async () => {
    const run = await runCli(["query", "--db", db, "--ndjson", "--all", "--limit", "1"]);
    expect([run.code, run.stderr]).toStrictEqual([1, expectedStderr]);
    expect(
      run.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).eventId),
    ).toStrictEqual([...good].reverse().map((e) => e.eventId));
  });

  it("tail shows the error rows, keeps following, and exits 1 when stopped", async () => {
    const table = tailCli(["--db", db, "--from-start"]);
    const json = tailCli(["--db", db, "--from-start", "--json"]);
    await table.until(() => table.lines().length >= 6, "every row");
    await json.until(() => json.lines().length >= 2, "the readable events");
    await json.until(() => json.out.stderr.includes("(row 3)"), "the unreadable rows");
    const [newer] = seedEvents(5).slice(4);
    if (newer === undefined) throw new Error("no event");
    store.insert([newer]);
    await table.until(() => table.lines().length >= 7, "the new event");
    await json.until(() => json.lines().length >= 3, "the new event");
    expect(await table.interrupt()).toBe(1);
    expect(await json.interrupt()).toBe(1);

    expect(table.lines().slice(2)).toStrictEqual([
      "2026-11-20T00:00:00.000Z  authn.result       alice       CreateProject                  FAIL PERMISSION_DENIED       jwt accepted",
      `2026-11-20T00:07:00.000Z  unreadable                                                                                 stored event ${events[1]?.eventId} (row 2) could not be decoded: the stored bytes are not an AuditEvent (premature EOF)`,
      `2026-11-20T00:14:00.000Z  unreadable                                                                                 stored event ${events[2]?.eventId} (row 3) could not be decoded: the stored event is not a protobuf BLOB`,
      "2026-11-20T00:21:00.000Z  resource.mutation  bob         CreateProject  project:p-3     ok OK                        update project:p-3",
      "2026-11-20T00:28:00.000Z  authn.result       bob         UpdateProject                  ok OK                        jwt accepted",
    ]);
    expect(json.lines().map((line) => JSON.parse(line))).toStrictEqual([...good, newer].map(eventToJson));
    const tailStderr = [
      `following ${db} (Ctrl-C to stop)`,
      `error: stored event ${events[1]?.eventId} (row 2) could not be decoded, skipped: the stored bytes are not an AuditEvent (premature EOF)`,
      `error: stored event ${events[2]?.eventId} (row 3) could not be decoded, skipped: the stored event is not a protobuf BLOB`,
      "error: 2 stored events could not be decoded (reported above); every other matching event was printed",
      "",
    ].join("\n");
    expect([table.out.stderr, json.out.stderr]).toStrictEqual([tailStderr, tailStderr]);
    expect(table.out.stdout + json.out.stdout + json.out.stderr).not.toContain("SECRET-PAYLOAD");
  });
});
