// The PostgreSQL store's time column is a bigint, partitioned by month over the range of a JavaScript
// Date: text or a fraction cannot be stored, and no partition of the store's holds a time beyond
// ±8.64e15 ms. Someone with rights on the schema can still attach one that does and move rows there:
// the stats leave those rows out of the hours and count the rest, and paging goes past each of them
// to every other row, as in the SQLite store (review R93).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { seedEvents } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { pageOneByOne } from "../store/page-one-by-one.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("a PostgreSQL store with rows moved to times no Date holds", () => {
  it("counts every event in the stats, only the readable times in the hours, and pages past each row", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      const events = seedEvents(6); // one every 7 minutes from 2026-11-20T00:00Z
      await store.insert(events);
      const untouched = await store.stats();
      expect(untouched.perHour).toStrictEqual([{ hour: "2026-11-20T00:00:00.000Z", count: 6 }]);
      await withClient(url, async (client) => {
        await client.query(
          "CREATE TABLE audit_events_far PARTITION OF audit_events FOR VALUES FROM (8640000000000001) TO (MAXVALUE)",
        );
        await client.query(
          "CREATE TABLE audit_events_before PARTITION OF audit_events FOR VALUES FROM (MINVALUE) TO (-8640000000000000)",
        );
        for (const [seq, time] of [
          [2, "-10000000000000000"],
          [3, "100000000000000000"],
          [4, "9223372036854775807"],
        ]) {
          await client.query("UPDATE audit_events SET occurred_at_ms = $1 WHERE seq = $2", [time, seq]);
        }
      });

      expect(await store.stats()).toStrictEqual({
        ...untouched,
        perHour: [{ hour: "2026-11-20T00:00:00.000Z", count: 3 }],
      });

      const seen = await pageOneByOne((page) => store.query({}, page), events.length);
      expect(seen).toStrictEqual([4, 3, 6, 5, 1, 2].map((seq) => events[seq - 1]?.eventId));
    } finally {
      await store.close();
    }
  });
});
