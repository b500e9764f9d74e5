// A store row's filter columns are what queries and stats see. Verify compared them with the event as
// JavaScript sees them, so a column edited to a value of another type passed: `success` set to 2 or
// 'yes' (truthy, but neither outcome to SQL: `success = 1` misses it and stats count a failure), or a
// text column set to the BLOB of the same bytes (equal as text, but `target_id = 'p-2'` misses it).
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import type { AuditQuery } from "../../src/store/query.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "./helpers.js";

/** A store of a closed trail of 3 mutations whose second row has `column` set to `value`. */
async function editedStore(column: string, value: unknown) {
  const path = join(tempDir(), "audit.db");
  const trail = await recordTrail(3);
  const store = openAuditStore({ path });
  store.insert(trail);
  store.close();
  const edited = trail[1];
  if (edited === undefined) throw new Error("no event");
  const db = new BetterSqlite3(path);
  db.prepare(`UPDATE events SET ${column} = ? WHERE event_id = ?`).run(value, edited.eventId);
  db.close();
  return { path, edited };
}

const cases: [string, unknown, AuditQuery][] = [
  ["success", 2, { success: true }],
  ["success", -1, { success: true }],
  ["success", 0.5, { success: true }],
  ["success", "yes", { success: true }],
  ["target_id", Buffer.from("p-2"), { targetType: "project", targetId: "p-2" }],
  ["actor_id", Buffer.from(""), { actorId: "" }],
];

it.each(cases)("reports a row whose %s column was set to %j as modified", async (column, value, filter) => {
  const { path, edited } = await editedStore(column, value);
  const read = openAuditStore({ path, readonly: true });
  const found = read.query(filter).events.map((event) => event.eventId);
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(storeEvents(read, tally), {
    publicKeys: PUBLIC_KEYS,
    expectSealed: true,
  });
  read.close();
  expect(found).not.toContain(edited.eventId); // what readers no longer see
  expect(report.chains.map((chain) => chain.findings)).toStrictEqual([[]]);
  expect(tally.unreadable).toStrictEqual([
    {
      where: `row 2 (event ${edited.eventId})`,
      reason: `its ${column} column does not match its event (filters and counts see the edit)`,
    },
  ]);
});
