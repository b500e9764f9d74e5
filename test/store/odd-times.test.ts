// Rows whose time column was edited from outside to a value no JavaScript Date holds (beyond ±8.64e15
// ms, text, a fraction, bytes) or moved below position 1: the stats leave them out of the hours and
// count the rest, and paging goes past each of them to every other row (review R93).
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { decodeCursor, encodeCursor } from "../../src/store/page-cursor.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "../cli/helpers.js";
import { pageOneByOne } from "./page-one-by-one.js";

/** The times set on rows 2 to 7 (SQL literals, as the reviewer's `UPDATE` wrote them). */
const ODD_TIMES = ["-1e16", "1e17", "9.2e18", "'abc'", "1.5", "x'00ff'"];

/** A store of 8 seeded events (one every 7 minutes from 2026-11-20T00:00Z), rows 2 to 7 edited. */
function oddStore(): { db: string; events: AuditEvent[] } {
  const db = join(tempDir(), "odd-times.db");
  const store = openAuditStore({ path: db });
  const events = seedEvents(8);
  store.insert(events);
  store.close();
  const raw = new BetterSqlite3(db);
  ODD_TIMES.forEach((time, i) => {
    raw.exec(`UPDATE events SET occurred_at_ms = ${time} WHERE seq = ${i + 2}`);
  });
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
  return { db, events };
}

/** What the store counts for the 8 events, rows 2 to 7 in no hour (rows 1 and 8: 00:00 and 00:49). */
function expectedStats(events: AuditEvent[]) {
  const db = join(tempDir(), "untouched.db");
  const store = openAuditStore({ path: db });
  store.insert(events);
  const untouched = store.stats();
  store.close();
  expect(untouched.perHour).toStrictEqual([{ hour: "2026-11-20T00:00:00.000Z", count: 8 }]);
  return { ...untouched, perHour: [{ hour: "2026-11-20T00:00:00.000Z", count: 2 }] };
}

describe("a store whose time column was edited to values no Date holds", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

  it("counts every event in the stats, and only the readable times in the hours", () => {
    const { db, events } = oddStore();
    const store = openAuditStore({ path: db, readonly: true });
    try {
      expect(store.stats()).toStrictEqual(expectedStats(events));
    } finally {
      store.close();
    }
  });

  it("lets `grpc-audit stats` answer the same", async () => {
    const { db, events } = oddStore();
    const json = await runCli(["stats", "--db", db, "--json"]);
    expect({ ...json, stdout: JSON.parse(json.stdout) }).toStrictEqual({
      code: 0,
      stdout: expectedStats(events),
      stderr: "",
    });
    const table = await runCli(["stats", "--db", db]);
    expect(table).toMatchObject({ code: 0, stderr: "" });
    expect(table.stdout).toContain("total events: 8");
    expect(
      table.stdout.endsWith("hour (UTC)        count\n----------------  -----\n2026-11-20 00:00  2\n"),
    ).toBe(true);
  });

  it("pages past every such row, one row a page, to every row", async () => {
    const { db, events } = oddStore();
    const raw = new BetterSqlite3(db);
    raw.exec("UPDATE events SET seq = -1 WHERE seq = 8"); // moved below position 1: queries list it
    raw.close();
    const store = openAuditStore({ path: db, readonly: true });
    try {
      const seen = await pageOneByOne((page) => store.query({}, page), events.length);
      // Newest first as SQLite orders the column: bytes, text, numbers (9.2e18 first, -1e16 last).
      expect(seen).toStrictEqual([7, 5, 4, 3, 8, 1, 6, 2].map((seq) => events[seq - 1]?.eventId));
    } finally {
      store.close();
    }
  });

  it("still refuses cursors it could not have made", () => {
    const made = (text: string) => Buffer.from(text).toString("base64url");
    for (const cursor of [
      made("9223372036854775808:1"), // past a 64-bit integer
      made("-9223372036854775809:1"),
      made("r5:1"), // a whole number is written as digits
      made("r:1"),
      made("rNaN:1"),
      made("b0g:1"),
      made("b0:1"),
      made("s8:1"), // text as stored: whole bytes, lowercase hex
      made("sAB:1"),
      made("s\u0080:1"),
      made("x:1"),
      made("tabc"),
      made("tabc:9007199254740992"), // beyond the positions a page lists
      `${encodeCursor("abc", 4)}=`,
    ]) {
      expect(() => decodeCursor(cursor)).toThrow(AuditInputError);
    }
    for (const [at, seq] of [
      [9_200_000_000_000_000_000n, 4n],
      [-(2n ** 63n), -1n],
      [1.5, 6],
      [1e19, 9],
      ["a:b", 5],
      [Buffer.from([0, 255]), 7],
      [{ text: Buffer.from([0x80]) }, 3],
      [{ text: Buffer.from("é") }, 4],
    ] as const) {
      expect(encodeCursor(decodeCursor(encodeCursor(at, seq)).at, seq)).toBe(encodeCursor(at, seq));
    }
  });
});
