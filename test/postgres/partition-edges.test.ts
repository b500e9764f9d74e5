// Events whose time lies far in the past or the future must be stored (in their month's
// partition) like any other, never fail the whole batch: a batch the store always refuses is retried
// by an ingester for ever, and blocks every event fetched with it. A time outside 0001-9999 (the ends
// of a Date) is refused by `insert` (review R134) and dead-lettered by the ingester before its insert;
// the partitions of those months are still made for a batch of columns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { columnsOf } from "../../src/postgres/insert.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const EDGES: [string, number][] = [
  // protobuf's smallest Timestamp (Go's zero time.Time): years 0–99 are taken as 1900–1999 by Date.UTC
  ["0001-01-01T00:00:00Z", Date.parse("0001-01-01T00:00:00Z")],
  ["year 50, December", Date.parse("0050-12-31T23:59:59.999Z")],
  ["year 99, December", Date.parse("0099-12-15T00:00:00Z")],
  // the last and first months JavaScript's Date holds only in part
  ["+275760-09-13 (Date's maximum)", 8.64e15],
  ["-271821-04-20 (Date's minimum)", -8.64e15],
];

describe("partitions at the edges of time", () => {
  for (const [name, ms] of EDGES) {
    it(`stores an event of ${name} and can read it back`, async () => {
      const url = await server.createDatabase();
      const store = await openPostgresStore({ connectionString: url });
      try {
        const event = sampleEvent({ eventId: `edge-${ms}`, occurredAt: new Date(ms) });
        const ordinary = sampleEvent({ eventId: "ordinary" });
        const outside = Math.abs(ms) > Date.parse("9999-12-31T23:59:59.999Z");
        if (outside) {
          await expect(store.insert([ordinary, event])).rejects.toThrow(AuditInputError);
          const insert = (events: (typeof event)[]) =>
            store.insertColumns(columnsOf(events.map((e) => ({ event: e, bytes: encodeEvent(e) }))));
          expect(await insert([ordinary, event])).toBe(2);
          expect(await insert([event])).toBe(0);
        } else {
          expect(await store.insert([ordinary, event])).toBe(2);
          // again: a redelivery is skipped, not an error
          expect(await store.insert([event])).toBe(0);
        }
        const { events } = await store.query({ eventId: event.eventId });
        expect(events.map((e) => e.occurredAt?.getTime())).toStrictEqual([ms]);
        const rows = await withClient(url, (c) =>
          c.query("SELECT tableoid::regclass::text t FROM audit_events WHERE event_id = $1", [event.eventId]),
        );
        expect(rows.rows).toHaveLength(1);
      } finally {
        await store.close();
      }
    });
  }
});
