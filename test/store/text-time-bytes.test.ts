// A row whose time column was edited from outside to text that is not valid UTF-8 (`CAST(x'80' AS
// TEXT)`): better-sqlite3 reads it as U+FFFD, and a cursor built from what it read (EF BF BD) sorts
// above the stored byte 80, so the page after it started at the same row again: `grpc-audit query
// --all --limit 1` printed it for ever, and with a second text row ('é', C3 A9, between the two)
// `query` went back and forth between two cursors (review R96). The cursor now holds the stored bytes.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { AFTER_TEXT_CURSOR } from "../../src/store/query.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { pageOneByOne } from "./page-one-by-one.js";

/** A store of 6 seeded events (one every 7 minutes), the time of row `seq` set to each SQL value. */
function editedStore(times: Record<number, string>): { db: string; events: AuditEvent[] } {
  const db = join(tempDir(), "text-times.db");
  const store = openAuditStore({ path: db });
  const events = seedEvents(6);
  store.insert(events);
  store.close();
  const raw = new BetterSqlite3(db);
  for (const [seq, time] of Object.entries(times)) {
    raw.exec(`UPDATE events SET occurred_at_ms = ${time} WHERE seq = ${seq}`);
  }
  raw.pragma("wal_checkpoint(TRUNCATE)");
  raw.close();
  return { db, events };
}

/**
 * Every row, one a page in order, then every row two a page (the page boundary falls elsewhere;
 * sorted, as a page names its undecodable rows apart from its events).
 */
async function pagedIds(db: string): Promise<{ one: string[]; two: string[] }> {
  const store = openAuditStore({ path: db, readonly: true });
  try {
    const one = await pageOneByOne((page) => store.query({}, page), 6);
    const two: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i <= 6; i++) {
      const page = store.query({}, cursor === undefined ? { limit: 2 } : { limit: 2, cursor });
      two.push(...page.events.map((e) => e.eventId), ...(page.undecodable ?? []).map((r) => r.eventId));
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    return { one, two: two.sort() };
  } finally {
    store.close();
  }
}

describe("paging past rows whose time column holds text as stored", () => {
  it("lists a row whose time is text that is not valid UTF-8 once, and goes on to the end", async () => {
    const { db, events } = editedStore({ 3: "CAST(x'80' AS TEXT)" });
    // Newest first as SQLite orders the column: text above numbers.
    const expected = [3, 6, 5, 4, 2, 1].map((seq) => events[seq - 1]?.eventId);
    expect(await pagedIds(db)).toStrictEqual({ one: expected, two: [...expected].sort() });
  });

  it("lists each of two text times (bytes 80 and 'é') once, in the order SQLite compares them", async () => {
    const { db, events } = editedStore({ 3: "CAST(x'80' AS TEXT)", 4: "'é'" });
    // Compared byte by byte: 'é' (C3 A9) above 80.
    const expected = [4, 3, 6, 5, 2, 1].map((seq) => events[seq - 1]?.eventId);
    expect(await pagedIds(db)).toStrictEqual({ one: expected, two: [...expected].sort() });
  });
});

it("searches the time index from a text cursor, as from any other", () => {
  const { db } = editedStore({});
  const raw = new BetterSqlite3(db, { readonly: true });
  try {
    const plan = raw
      .prepare(
        `EXPLAIN QUERY PLAN SELECT seq, event FROM events WHERE ${AFTER_TEXT_CURSOR} ORDER BY occurred_at_ms DESC, seq DESC LIMIT 2`,
      )
      .all(Buffer.from([0x80]), 3) as { detail: string }[];
    expect(plan.map((row) => row.detail)).toStrictEqual([
      "SEARCH events USING INDEX events_time (occurred_at_ms<?)",
    ]);
  } finally {
    raw.close();
  }
});
