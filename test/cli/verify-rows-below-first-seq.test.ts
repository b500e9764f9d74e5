// A SQLite store gives its rows the positions 1, 2, ... A row someone moved (or put) at a position
// below 1 is shown by queries and the viewer, but a read from the start (`grpc-audit verify`) never
// reached it: an edited event moved there, or a forged one put there, passed as "no findings".
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { edited } from "../chain/tamper.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "./helpers.js";

/** A store holding an open trail (a running recorder's: 6 mutations, a checkpoint after 4), changed by `tamper`. */
async function tamperedStore(tamper: (db: BetterSqlite3.Database, trail: AuditEvent[]) => void) {
  const path = join(tempDir(), "audit.db");
  const trail = await recordTrail(6, { checkpointEvery: 4, open: true });
  const store = openAuditStore({ path });
  store.insert(trail);
  store.close();
  const db = new BetterSqlite3(path);
  tamper(db, trail);
  db.close();
  return { path, trail };
}

async function verifyStore(path: string) {
  const store = openAuditStore({ path, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), { publicKeys: PUBLIC_KEYS });
    return { report, tally, shown: store.query({}).events.map((event) => event.eventId) };
  } finally {
    store.close();
  }
}

it("names an edited event moved below position 1 as an unreadable (modified) row", async () => {
  let last: AuditEvent | undefined;
  const { path, trail } = await tamperedStore((db, events) => {
    last = events[events.length - 1];
    if (last === undefined) throw new Error("no events");
    const forged = edited(last);
    db.prepare("UPDATE events SET seq = -1, event = ?, target_id = ? WHERE event_id = ?").run(
      encodeEvent(forged),
      forged.target?.id ?? "",
      last.eventId,
    );
  });
  const { report, tally, shown } = await verifyStore(path);
  expect(shown).toHaveLength(trail.length); // readers still see the edited event
  expect(report.chains.map((chain) => [chain.events, chain.findings])).toStrictEqual([
    [trail.length - 1, []],
  ]);
  expect(tally.unreadable).toStrictEqual([
    {
      where: `row -1 (event ${last?.eventId})`,
      reason:
        "its position (seq) is below 1, which the store never gives a row: it was moved or put there from outside",
    },
  ]);
});

it("names forged events put at position 0 and far below it", async () => {
  const { path, trail } = await tamperedStore((db, events) => {
    const insert = db.prepare(
      "INSERT INTO events (seq, event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, event) SELECT ?, ?, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, ? FROM events WHERE event_id = ?",
    );
    const model = events[0];
    if (model === undefined) throw new Error("no events");
    for (const [seq, id] of [
      [0, "forged-0"],
      [-(2n ** 62n), "forged-far"],
    ] as const) {
      insert.run(seq, id, encodeEvent({ ...model, eventId: id, chain: undefined }), model.eventId);
    }
  });
  const { report, tally, shown } = await verifyStore(path);
  expect(shown).toHaveLength(trail.length + 2);
  expect(report.chains.map((chain) => [chain.events, chain.findings])).toStrictEqual([[trail.length, []]]);
  expect(tally.unreadable.map((row) => row.where)).toStrictEqual([
    `row ${Number(-(2n ** 62n))} (event forged-far)`,
    "row 0 (event forged-0)",
  ]);
});

it("names every row when the whole trail was moved below position 1", async () => {
  const { path, trail } = await tamperedStore((db) => {
    db.prepare("UPDATE events SET seq = seq - 100").run();
  });
  const { report, tally, shown } = await verifyStore(path);
  expect(shown).toHaveLength(trail.length);
  expect([report.chains, tally.unreadable.map((row) => row.where)]).toStrictEqual([
    [],
    trail.map((event, i) => `row ${i + 1 - 100} (event ${event.eventId})`),
  ]);
});
