// SQLite gives each new row a position past the highest it ever gave (sqlite_sequence). Raised from
// outside to 2^53 - 1, every later row would land where no query or tail reads (above the range a
// JavaScript number holds exactly): stored, reported as written, and never shown. The store refuses
// such a write instead, naming the cause and the fix, so the delivery pipeline keeps the events.
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { AuditEmitError } from "../../src/errors/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";

const dir = tempDir("positions");
afterAll(() => dir.remove());

/** The error `write` throws. */
function thrown(write: () => unknown): Error {
  try {
    write();
  } catch (error) {
    return error as Error;
  }
  throw new Error("the write was not refused");
}

it("refuses a write whose rows would lie above 2^53 - 1, and writes again once sqlite_sequence is set back", () => {
  const file = path.join(dir.dir, "audit.db");
  const [first, second, third, fourth] = numberedEvents(4);
  if (first === undefined || second === undefined || third === undefined || fourth === undefined) {
    throw new Error("4 events");
  }
  const store = openAuditStore({ path: file });
  const outside = new BetterSqlite3(file);
  const setSequence = (seq: bigint) =>
    outside.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'").run(seq);
  const shown = () => store.query({}).events.map((e) => e.eventId);
  try {
    store.insert([first]);
    setSequence(2n ** 60n);
    const refused = thrown(() => store.insert([second]));
    expect(refused).toBeInstanceOf(AuditEmitError);
    expect(refused.message).toContain(
      `audit store ${file}: cannot write it: its next position (seq) is above 2^53 - 1, where no query could read it: a row was put above that, or sqlite_sequence raised, from outside.`,
    );
    expect(shown()).toStrictEqual([first.eventId]);

    outside.exec(/set it back: (UPDATE .*)$/.exec(refused.message)?.[1] ?? "");
    expect(store.insert([second])).toBe(1);
    // The last position a query reads is still given; none after it.
    setSequence(2n ** 53n - 2n);
    expect(store.insert([third])).toBe(1);
    expect(thrown(() => store.insert([fourth]))).toBeInstanceOf(AuditEmitError);
    expect(shown()).toStrictEqual([third.eventId, second.eventId, first.eventId]);
  } finally {
    outside.close();
    store.close();
  }
});
