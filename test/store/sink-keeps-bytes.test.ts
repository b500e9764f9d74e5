// The SQLite store's sink stores each event's bytes as the delivery pipeline queued them: a spool that
// a newer version left (an event with a field this version does not know) and this version drains
// keeps that field. This version's verify cannot read the field, and names such a row `modified`: bytes
// its hash does not cover are what an edit of the row would add (review R107). A real newer version's
// hash covers its field, so this version's verify of that event fails on its hash anyway: verify with
// a version at least as new as the writer's.
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { recordMutations } from "../chain/trail.js";
import { tempDir } from "../delivery/helpers.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";

/** Field 99 (varint) = 1, which grpcaudit.v1.AuditEvent does not have: after its last field (26). */
const UNKNOWN_FIELD = "980601";

/** Each event's bytes by event id, in hex, from a SQLite table (the spool's or the store's). */
function bytesById(path: string, sql: string): Map<string, string> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(sql).all() as { eventId: string; bytes: Buffer }[];
    return new Map(rows.map((row) => [row.eventId, row.bytes.toString("hex")]));
  } finally {
    db.close();
  }
}

it("stores a drained spool's events with their queued bytes, a field this version does not know included", async () => {
  const { dir, remove } = tempDir("sink-keeps-bytes");
  try {
    const spoolPath = join(dir, "spool.db");
    const storePath = join(dir, "audit.db");

    // A process whose store never answered: closed, it leaves its chained events in the spool.
    const down = createFakeSink();
    down.mode = "hold";
    const spooling = createDeliveryEmitter({ sink: down, flushIntervalMs: 0, spool: { path: spoolPath } });
    recordMutations(createRecorder({ service: "projects", emitters: [spooling] }), 5);
    expect(await spooling.close({ timeoutMs: 20 })).toMatchObject({ spooled: 5, dropped: 0 });
    // What a newer version spools for one of them: the same event with a field this one does not know.
    const spool = new Database(spoolPath);
    const third = spool.prepare("SELECT id, bytes FROM spool ORDER BY id LIMIT 1 OFFSET 2").get() as {
      id: number;
      bytes: Buffer;
    };
    const newer = Buffer.concat([third.bytes, Buffer.from(UNKNOWN_FIELD, "hex")]);
    spool.prepare("UPDATE spool SET bytes = ?, size = ? WHERE id = ?").run(newer, newer.length, third.id);
    spool.close();
    const queued = bytesById(spoolPath, "SELECT event_id AS eventId, bytes FROM spool ORDER BY id");
    expect([...queued.values()].filter((hex) => hex.endsWith(UNKNOWN_FIELD))).toHaveLength(1);

    // This version drains that spool into a SQLite store.
    const store = openAuditStore({ path: storePath });
    const draining = createDeliveryEmitter({
      sink: store.sink(),
      flushIntervalMs: 0,
      spool: { path: spoolPath },
    });
    await until(() => draining.stats().delivered === 5, { message: () => JSON.stringify(draining.stats()) });
    expect(await draining.close()).toMatchObject({ dropped: 0 });

    expect(
      bytesById(storePath, "SELECT event_id AS eventId, event AS bytes FROM events ORDER BY seq"),
    ).toStrictEqual(queued);
    // Its filter columns are filled as for any event.
    expect(store.query({ targetId: "p-3" }).events.map((e) => e.eventId)).toStrictEqual([
      [...queued.keys()][2],
    ]);
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    await verifyChains(storeEvents(store, tally));
    expect(tally.unreadable).toStrictEqual([
      {
        where: `row 3 (event ${[...queued.keys()][2]})`,
        reason: "its stored bytes are not its event's encoding: 3 bytes the event schema does not know",
      },
    ]);
    store.close();
  } finally {
    remove();
  }
});
