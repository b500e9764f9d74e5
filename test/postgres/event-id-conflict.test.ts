// A Recorder whose `newEventId` repeats an id gives two different events one id. The PostgreSQL store
// keys rows by event id and time, and skips a key it holds, so that a redelivered event (the same
// bytes) goes in once; two events under one id in the same millisecond were one key, and the second
// was skipped without a word (review R145). The store now refuses it, on a real server: its sink has
// the delivery emitter drop and count it, naming the id, and `insert` refuses the batch for an
// ingester to dead-letter that event. The same event delivered again is still stored once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

const REPEATED = "019b7ca9-8f2e-7000-8000-0000000000aa";
const OTHER = "019b7ca9-8f2e-7000-8000-000000000001";
/** One millisecond for every event: the two events under REPEATED have one key. */
const NOW = new Date("2026-12-05T10:00:00.000Z");

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

async function withStore(use: (store: PostgresStore) => Promise<void>): Promise<void> {
  const store = await openPostgresStore({ connectionString: await server.createDatabase() });
  try {
    await use(store);
  } finally {
    await store.close();
  }
}

/** The resource ids of the stored mutations, by event id. */
async function storedMutations(store: PostgresStore): Promise<Record<string, string>> {
  const { events } = await store.query({ type: "resource.mutation" }, { limit: 100 });
  return Object.fromEntries(events.map((e) => [e.eventId, e.target?.id ?? ""]));
}

describe("an event id and time the PostgreSQL store holds for another event", () => {
  it("through a delivery emitter: the second event is not stored, counted as dropped and reported by its id", async () => {
    await withStore(async (store) => {
      const errors: string[] = [];
      const delivery = createDeliveryEmitter({
        sink: store.sink(),
        onError: (error) => errors.push(error.message),
      });
      const ids = [REPEATED, REPEATED, OTHER];
      const recorder = createRecorder({
        service: "projects",
        emitters: [delivery],
        now: () => NOW,
        newEventId: () => ids.shift() ?? "",
        onError: (error) => errors.push(error.message),
      });
      const mutation = (resourceId: string) =>
        recorder.recordResourceMutation({ mutation: "delete", resourceType: "doc", resourceId });
      expect(mutation("d1")).toBe("accepted");
      expect((await recorder.flush()).ok).toBe(true);
      // A batch of its own: the store holds d1 under the key when d2 comes.
      expect([mutation("d2"), mutation("d3")]).toStrictEqual(["accepted", "accepted"]);
      await recorder.close();

      expect(delivery.stats()).toMatchObject({
        accepted: 3,
        delivered: 2,
        dropped: { refused: 1 },
        droppedAfterAccept: 1,
        failed: 0,
      });
      expect(await storedMutations(store)).toStrictEqual({ [REPEATED]: "d1", [OTHER]: "d3" });
      const name = `postgres-store:${store.name}`;
      expect(errors).toStrictEqual([
        `${name}: dropped 1 event (refused): the sink refused it: ${name}: event id "${REPEATED}" is stored with another event (other bytes): not stored`,
      ]);
    });
  });

  it("the same event delivered again is stored once, without an error", async () => {
    await withStore(async (store) => {
      const errors: Error[] = [];
      const delivery = createDeliveryEmitter({ sink: store.sink(), onError: (error) => errors.push(error) });
      const event = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
      delivery.emit(event);
      expect((await delivery.flush()).ok).toBe(true);
      delivery.emit(event);
      await delivery.close();
      expect(delivery.stats()).toMatchObject({ accepted: 2, delivered: 2, dropped: {}, failed: 0 });
      expect(errors).toStrictEqual([]);
      expect((await store.query({})).events).toStrictEqual([event]);
    });
  });

  it("insert refuses the batch naming the id, for an ingester to dead-letter that event", async () => {
    await withStore(async (store) => {
      const first = sampleEvent({ kind: "resourceMutation", eventId: REPEATED });
      const other = sampleEvent({ kind: "authz", eventId: REPEATED });
      const fresh = sampleEvent({ kind: "authn" });
      const refusal = {
        name: "RefusedRowsError",
        refusesRows: true,
        code: "23505",
        eventIds: [REPEATED],
        message: `postgres store ${store.name}: event id "${REPEATED}" is stored with another event (other bytes): not stored`,
      };
      // Stored before, or earlier in the same batch.
      expect(await store.insert([first])).toBe(1);
      await expect(store.insert([fresh, other])).rejects.toMatchObject(refusal);
      await withStore(async (empty) => {
        await expect(empty.insert([first, fresh, other])).rejects.toMatchObject({
          ...refusal,
          message: refusal.message.replace(store.name, empty.name),
        });
        expect((await empty.query({})).events).toStrictEqual([]);
      });
      // Nothing of a refused batch is stored; the same event again is a duplicate, skipped.
      expect((await store.query({})).events).toStrictEqual([first]);
      expect(await store.insert([first, fresh])).toBe(1);
    });
  });
});
