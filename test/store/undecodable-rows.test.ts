import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { seedEvents, tempDir } from "../cli/helpers.js";

describe("AuditStore pages with rows that cannot be decoded", () => {
  it("skip each such row, name it in `undecodable` at its place, and return every other event", () => {
    const db = join(tempDir(), "damaged.db");
    const store = openAuditStore({ path: db });
    const events = seedEvents(5);
    store.insert(events);
    const [e0, e1, e2, e3, e4] = events;
    if (e0 === undefined || e1 === undefined || e2 === undefined || e3 === undefined || e4 === undefined) {
      throw new Error("seedEvents(5) gave fewer events");
    }
    const raw = new BetterSqlite3(db);
    const damage = raw.prepare("UPDATE events SET event = ? WHERE seq = ?");
    damage.run(Buffer.from([0x0f]), 2); // wire type 7 does not exist
    damage.run(Buffer.from(encodeEvent(e0)), 4); // a valid event, but another row's
    raw.close();

    const at = (minutes: number) => Date.parse("2026-11-20T00:00:00.000Z") + minutes * 60_000;
    const row2 = {
      seq: 2,
      eventId: e1.eventId,
      occurredAtMs: at(7),
      reason: "the stored bytes are not an AuditEvent (cant skip wire type 7)",
    };
    const row4 = {
      seq: 4,
      eventId: e3.eventId,
      occurredAtMs: at(21),
      reason: "the stored event's id does not match its row",
    };
    expect(store.query({}, { limit: 10 })).toStrictEqual({
      events: [e4, e2, e0],
      nextCursor: undefined,
      undecodable: [
        { ...row4, index: 1 },
        { ...row2, index: 2 },
      ],
    });
    expect(store.tail(0)).toStrictEqual({
      events: [e0, e2, e4],
      lastSeq: 5,
      undecodable: [
        { ...row2, index: 1 },
        { ...row4, index: 2 },
      ],
    });
    // A page without a damaged row has no `undecodable` at all.
    expect(store.tail(4)).toStrictEqual({ events: [e4], lastSeq: 5 });
    store.close();
  });
});
