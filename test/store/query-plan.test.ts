// A page after a cursor reads from the cursor on: SQLite searches the time index (or the actor's,
// the target's…) from the cursor's position instead of scanning it from the newest event down to the
// cursor, which made every page slower than the one before (22 ms per page 8,000 pages deep in a
// store of 400,000 events, against 1.5 ms near the top). Read from SQLite's own plan of the clause.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { expect, it } from "vitest";
import { AFTER_CURSOR, openAuditStore } from "../../src/store/audit-store.js";
import { IN_POSITION_RANGE } from "../../src/store/stored-rows.js";

const path = join(mkdtempSync(join(tmpdir(), "query-plan-")), "audit.db");
openAuditStore({ path }).close();

function plan(where: string): string[] {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT seq, event FROM events WHERE ${where} ORDER BY occurred_at_ms DESC, seq DESC LIMIT 51`,
      )
      .all(
        ...where
          .split("?")
          .slice(1)
          .map(() => 1),
      ) as { detail: string }[];
    return rows.map((row) => row.detail);
  } finally {
    db.close();
  }
}

it.each([
  // As the store asks: with the bound on positions every page carries.
  [
    "every event",
    `${IN_POSITION_RANGE} AND ${AFTER_CURSOR}`,
    "SEARCH events USING INDEX events_time (occurred_at_ms<?)",
  ],
  [
    "one actor's events",
    `actor_id = ? AND ${IN_POSITION_RANGE} AND ${AFTER_CURSOR}`,
    "SEARCH events USING INDEX events_actor (actor_id=? AND occurred_at_ms<?)",
  ],
])("a page of %s after a cursor searches the index from the cursor", (_name, where, expected) => {
  expect(plan(where)).toStrictEqual([expected]);
});
