// A Recorder whose `newEventId` repeats an id (a public option) gives two different events one id.
// The SQLite store skips an id it holds, so that a redelivered event (the same bytes) goes in once;
// it skipped the other event too, and the delivery emitter counted it delivered (review R145). The
// store now refuses it: the emitter drops and counts it and onError names the id, while the same
// event delivered again is still stored once without a word.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { appendEvent, createEventColumns, type EventColumns } from "../../src/event/event-columns.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../delivery/helpers.js";
import { sampleEvent } from "../helpers/events.js";

const REPEATED = "019b7ca9-8f2e-7000-8000-0000000000aa";
const OWN_ID = "019b7ca9-8f2e-7000-8000-0000000000bb";

let dir: { dir: string; remove: () => void };
let store: AuditStore;
beforeEach(() => {
  dir = tempDir("event-id-conflict");
  store = openAuditStore({ path: join(dir.dir, "audit.db") });
});
afterEach(() => {
  store.close();
  dir.remove();
});

/** The resource ids of the stored mutations, by event id. */
function storedMutations(): Record<string, string> {
  const rows = store.query({ type: "resource.mutation" }, { limit: 100 }).events;
  return Object.fromEntries(rows.map((e) => [e.eventId, e.target?.id ?? ""]));
}

describe("an event id the SQLite store holds for another event", () => {
  it("through a delivery emitter: the second event is not stored, counted as dropped and reported by its id", async () => {
    const errors: string[] = [];
    const delivery = createDeliveryEmitter({
      sink: store.sink(),
      onError: (error) => errors.push(error.message),
    });
    // The first two mutations get one id, the third its own.
    const ids = [REPEATED, REPEATED];
    let next = 0;
    const recorder = createRecorder({
      service: "projects",
      emitters: [delivery],
      newEventId: () => ids.shift() ?? `019b7ca9-8f2e-7000-8000-${String(++next).padStart(12, "0")}`,
      onError: (error) => errors.push(error.message),
    });
    const mutation = (resourceId: string) =>
      recorder.recordResourceMutation({ mutation: "delete", resourceType: "doc", resourceId });
    expect(mutation("d1")).toBe("accepted");
    expect((await recorder.flush()).ok).toBe(true);
    // A batch of its own: the store holds d1 under the id when d2 comes.
    expect([mutation("d2"), mutation("d3")]).toStrictEqual(["accepted", "accepted"]);
    await recorder.close();

    expect(delivery.stats()).toMatchObject({
      accepted: 3,
      delivered: 2,
      dropped: { refused: 1 },
      droppedAfterAccept: 1,
      failed: 0,
    });
    expect(storedMutations()).toStrictEqual({
      [REPEATED]: "d1",
      "019b7ca9-8f2e-7000-8000-000000000001": "d3",
    });
    const name = `sqlite-store:${store.path}`;
    expect(errors).toStrictEqual([
      `${name}: dropped 1 event (refused): the sink refused it: ${name}: event id "${REPEATED}" is stored with another event (other bytes): not stored`,
    ]);
  });

  it("teaches the emitter no size limit: a later, larger event with its own id is still delivered", async () => {
    const errors: string[] = [];
    const delivery = createDeliveryEmitter({
      sink: store.sink(),
      onError: (error) => errors.push(error.message),
    });
    const first = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
    const other = sampleEvent({ kind: "authz", eventId: REPEATED });
    const larger = sampleEvent({ kind: "authz", eventId: OWN_ID, operation: `/acme.Big/${"x".repeat(200)}` });
    expect(encodeEvent(larger).length).toBeGreaterThan(encodeEvent(other).length);
    expect(delivery.emit(first)).toBe("accepted");
    expect((await delivery.flush()).ok).toBe(true);
    expect(delivery.emit(other)).toBe("accepted");
    expect((await delivery.flush()).ok).toBe(false);

    // A size refusal would make emit refuse every event at least as large as `other` from now on.
    expect(delivery.emit(larger)).toBe("accepted");
    await delivery.close();
    expect(delivery.stats()).toMatchObject({ accepted: 3, delivered: 2, dropped: { refused: 1 }, failed: 0 });
    expect(store.query({ eventId: OWN_ID }).events).toStrictEqual([larger]);
    expect(store.query({ eventId: REPEATED }).events).toStrictEqual([first]);
    expect(errors).toHaveLength(1);
  });

  it("the same event delivered again is stored once, without an error", async () => {
    const errors: Error[] = [];
    const delivery = createDeliveryEmitter({ sink: store.sink(), onError: (error) => errors.push(error) });
    const event = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
    delivery.emit(event);
    expect((await delivery.flush()).ok).toBe(true);
    delivery.emit(event);
    await delivery.close();
    expect(delivery.stats()).toMatchObject({ accepted: 2, delivered: 2, dropped: {}, failed: 0 });
    expect(errors).toStrictEqual([]);
    expect(store.query({}).events).toStrictEqual([event]);
  });

  it("insert and insertColumns refuse the batch naming the id, for an ingester to dead-letter that event", () => {
    const first = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
    const other = sampleEvent({ kind: "authz", eventId: REPEATED });
    const fresh = sampleEvent({ kind: "authn" });
    expect(store.insert([first])).toBe(1);
    const refusal = {
      name: "EventIdConflictError",
      refusesRows: true,
      code: "SQLITE_CONSTRAINT_UNIQUE",
      eventIds: [REPEATED],
      message: `audit store ${store.path}: event id "${REPEATED}" is stored with another event (other bytes): not stored`,
    };
    expect(() => store.insert([fresh, other])).toThrow(expect.objectContaining(refusal));
    const columns = ingestColumns([fresh, other]);
    expect(() => store.insertColumns(columns)).toThrow(expect.objectContaining(refusal));
    // Nothing of a refused batch is stored; the same event again is a duplicate, skipped.
    expect(store.query({}).events).toStrictEqual([first]);
    expect(store.insert([first, fresh])).toBe(1);
  });
});

/** Events in the stored columns, as an ingester gives them to `insertColumns`. */
function ingestColumns(events: readonly AuditEvent[]): EventColumns {
  const columns = createEventColumns();
  for (const event of events) appendEvent(columns, event, encodeEvent(event));
  return columns;
}
