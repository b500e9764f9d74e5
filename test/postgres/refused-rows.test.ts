// Rows no retry of the same PostgreSQL store can take, on a real server: an event whose month has no
// partition, given to a writer role with only the rights docs/postgres.md recommends (a clock reset to
// 1970, a month prune dropped), and an event whose id holds U+0000 (its key column would hold U+FFFD
// and take it for "evt\uFFFDx"). The store refuses such a batch naming those rows; its sink has the
// pipeline drop them, counted, and store the rest instead of retrying the batch for ever. And a batch
// whose rows find no partition on every try says what happened.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import {
  type PostgresServer,
  startPostgresServer,
  withClient,
  writerRoleUrl,
} from "../helpers/postgres-server.js";
import { storedIds } from "../ingest/fleet.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const DECEMBER = Date.parse("2026-12-05T10:00:00Z");
const event = (id: string, ms: number) => sampleEvent({ eventId: id, occurredAt: new Date(ms) });
const goodEvents = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => event(`${prefix}-${i}`, DECEMBER + i));

let writers = 0;
/** A database whose owner made December 2026, and the URL of a writer role with the docs' GRANTs. */
async function writerDatabase(): Promise<{ url: string; writerUrl: string }> {
  const url = await server.createDatabase();
  const owner = await openPostgresStore({ connectionString: url });
  await owner.insert([event("owner-0", DECEMBER)]);
  await owner.close();
  return { url, writerUrl: await writerRoleUrl(url, `audit_writer_${++writers}`) };
}

describe("rows the PostgreSQL store refuses", () => {
  it("a writer role and an event of a month without a partition: the batch is refused naming that event", async () => {
    const { url, writerUrl } = await writerDatabase();
    const writer = await openPostgresStore({ connectionString: writerUrl });
    try {
      const batch = [...goodEvents("a", 3), event("epoch", 0), ...goodEvents("b", 3)];
      const refusal = await writer.insert(batch).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toMatchObject({
        name: "RefusedRowsError",
        refusesRows: true,
        code: "42501",
        eventIds: ["epoch"],
        message: `postgres store ${writer.name}: partition audit_events_197001 not created: permission denied for schema public (a role that may not create partitions writes only into months made for it)`,
      });
      // Nothing of a refused batch is stored; the good rows go in apart.
      expect([...(await storedIds(url)).keys()]).toStrictEqual(["owner-0"]);
      expect(await writer.insert(batch.filter((e) => e.eventId !== "epoch"))).toBe(6);
    } finally {
      await writer.close();
    }
  });

  it("behind the delivery pipeline: the batch is retried, not dropped, and stored once the owner makes the month", async () => {
    const { url, writerUrl } = await writerDatabase();
    const writer = await openPostgresStore({ connectionString: writerUrl });
    const errors: Error[] = [];
    const delivery = createDeliveryEmitter({
      sink: writer.sink(),
      onError: (error) => errors.push(error),
      retry: { initialDelayMs: 5, maxDelayMs: 5 },
    });
    try {
      const events = [...goodEvents("a", 5), event("epoch", 0), ...goodEvents("b", 5)];
      for (const e of events) delivery.emit(e);
      while (errors.length === 0 || delivery.stats().retried < 2) await sleep(10);
      expect(delivery.stats()).toMatchObject({ delivered: 0, dropped: {} });
      expect(errors[0]).toMatchObject({
        message: `postgres-store:${writer.name}: sink write failed; retrying`,
        cause: {
          message: `postgres store ${writer.name}: partition audit_events_197001 not created: permission denied for schema public (a role that may not create partitions writes only into months made for it)`,
        },
      });
      // A Recorder's events are of the current month: its owner makes the month, and they go in.
      await withClient(url, (c) =>
        c.query(`CREATE TABLE audit_events_197001 (LIKE audit_events);
          ALTER TABLE audit_events ATTACH PARTITION audit_events_197001 FOR VALUES FROM (0) TO (2678400000)`),
      );
      await delivery.close();
      expect(delivery.stats()).toMatchObject({ emitted: 11, delivered: 11, dropped: {}, failed: 0 });
      const ids = [...(await storedIds(url)).keys()].sort();
      expect(ids).toStrictEqual(["owner-0", ...events.map((e) => e.eventId)].sort());
    } finally {
      await writer.close();
    }
  });

  it("behind the delivery pipeline: an event whose id holds U+0000 is dropped and counted, the others stored", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const errors: string[] = [];
    const delivery = createDeliveryEmitter({
      sink: store.sink(),
      onError: (error) => errors.push(error.message),
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      const events = [...goodEvents("a", 5), event("evt\u0000x", DECEMBER), ...goodEvents("b", 5)];
      for (const e of events) delivery.emit(e);
      await delivery.close();
      expect(delivery.stats()).toMatchObject({
        emitted: 11,
        delivered: 10,
        dropped: { refused: 1 },
        failed: 0,
      });
      const ids = [...(await storedIds(url)).keys()].sort();
      expect(ids).toStrictEqual(
        events
          .map((e) => e.eventId)
          .filter((id) => !id.includes("\u0000"))
          .sort(),
      );
      expect(errors).toStrictEqual([
        `postgres-store:${store.name}: dropped 1 event (refused): the sink refused it: postgres-store:${store.name}: event id "evt\\u0000x" holds U+0000, which PostgreSQL text cannot hold: not stored`,
      ]);
    } finally {
      await store.close();
    }
  });

  it("an event id holding U+0000 is refused, so that an id with U+FFFD in its place is stored", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      const nul = event("evt\u0000x", DECEMBER);
      const replaced = event("evt\uFFFDx", DECEMBER);
      await expect(store.insert([nul, event("other", DECEMBER)])).rejects.toMatchObject({
        refusesRows: true,
        code: "22021",
        eventIds: ["evt\u0000x"],
        message: `postgres store ${store.name}: event id "evt\\u0000x" holds U+0000, which PostgreSQL text cannot hold: not stored`,
      });
      expect(await store.insert([replaced])).toBe(1);
      expect((await store.query({})).events.map((e: AuditEvent) => e.eventId)).toStrictEqual(["evt\uFFFDx"]);
    } finally {
      await store.close();
    }
  });

  it("rows that find no partition on every try: the error names the store, the months and what happened", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      // A table of July 2041's name that holds another range: each try finds the month, then no row fits.
      await withClient(url, (c) =>
        c.query(`CREATE TABLE audit_events_204107 (LIKE audit_events);
          ALTER TABLE audit_events ATTACH PARTITION audit_events_204107 FOR VALUES FROM (0) TO (1000)`),
      );
      await expect(store.insert([event("lost", Date.parse("2041-07-07T00:00:00Z"))])).rejects.toThrow(
        `postgres store ${store.name}: a row of the batch found no partition (months audit_events_204107) on 3 tries, each after its month was made again or found in the catalog: another process dropped it meanwhile (a prune of old months); nothing of the batch was stored`,
      );
    } finally {
      await store.close();
    }
  });
});
