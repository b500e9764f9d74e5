// How a batch goes in (src/postgres/copy.ts): by one binary COPY, and by INSERT … ON CONFLICT DO NOTHING
// only when the COPY fails on a stored id (a redelivery). A statement trigger on the server notes the
// first word of each statement that inserted into audit_events and committed, so the tests see which
// way each batch went.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { columnsOf } from "../../src/postgres/insert.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { recordedEvents } from "../store-contract/events.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const DAY = 86_400_000;

/** Opens a store on a new database whose inserting statements are noted (see the file comment). */
async function openNoted() {
  const url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  await withClient(url, (c) =>
    c.query(`CREATE TABLE statements (n serial PRIMARY KEY, verb text NOT NULL);
      CREATE FUNCTION note_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO statements (verb) VALUES (substring(current_query() FROM '^\\s*(\\w+)'));
        RETURN NULL;
      END $$;
      CREATE TRIGGER note AFTER INSERT ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION note_statement();`),
  );
  const statements = async () => {
    const rows = await withClient(url, (c) =>
      c.query<{ verb: string }>("SELECT verb FROM statements ORDER BY n"),
    );
    return rows.rows.map((r) => r.verb);
  };
  return { url, store, statements };
}

describe("PostgreSQL store batches", () => {
  it("go in by one COPY each; a redelivered one by INSERT skipping stored ids, each event once", async () => {
    const { url, store, statements } = await openNoted();
    try {
      const events = recordedEvents(6);
      // A value longer than 65,535 bytes: COPY's field lengths are 32 bits.
      const long = events[5];
      if (long === undefined) throw new Error("events");
      long.operation = `/${"é".repeat(40_000)}`;
      expect(await store.insert(events.slice(0, 3))).toBe(3);
      expect(await store.insert([long])).toBe(1);
      expect(await statements()).toStrictEqual(["COPY", "COPY"]);
      expect(await store.insert([events[2], events[3], events[1], events[4]].flatMap((e) => e ?? []))).toBe(
        2,
      );
      expect(await statements()).toStrictEqual(["COPY", "COPY", "INSERT"]);
      const order = [0, 1, 2, 5, 3, 4].map((i) => events[i]);
      expect((await store.tail(0)).events).toStrictEqual(order);
      const stored = await withClient(url, (c) =>
        c.query<{ operation: string }>("SELECT operation FROM audit_events ORDER BY seq"),
      );
      expect(stored.rows.map((r) => r.operation)).toStrictEqual(order.map((e) => e?.operation));
    } finally {
      await store.close();
    }
  });

  it("a COPY into a month another store pruned creates the partition again, then skips a stored id", async () => {
    const { url, store: a, statements } = await openNoted();
    const b = await openPostgresStore({ connectionString: url });
    try {
      const events = recordedEvents(14, 0, DAY); // 0–10 in November 2026, 11–13 in December
      const [nov0, nov5, nov6, dec] = [events[0], events[5], events[6], events[12]];
      if (nov0 === undefined || nov5 === undefined || nov6 === undefined || dec === undefined)
        throw new Error("events");
      expect(await a.insert([nov0, dec])).toBe(2); // a knows November's partition
      expect(await b.prune({ before: new Date(Date.parse("2026-12-01T00:00:00Z")) })).toBe(1);
      // November's partition is gone: the COPY fails on nov5, then (partition made) on dec, stored.
      expect(await a.insert([nov5, dec, nov6])).toBe(2);
      expect(await statements()).toStrictEqual(["COPY", "INSERT"]);
      expect((await a.tail(0)).events).toStrictEqual([dec, nov5, nov6]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a batch prepared ahead (its COPY data encoded) goes in as it would have; a stored id still falls back", async () => {
    const { store, statements } = await openNoted();
    try {
      const events = recordedEvents(5);
      const columns = (slice: typeof events) =>
        columnsOf(slice.map((event) => ({ event, bytes: encodeEvent(event) })));
      const first = columns(events.slice(0, 3));
      store.prepareColumns(first);
      expect(await store.insertColumns(first)).toBe(3);
      // Prepared, and holding an event already stored: the prepared COPY fails, the INSERT skips it.
      const again = columns(events.slice(2));
      store.prepareColumns(again);
      expect(await store.insertColumns(again)).toBe(2);
      expect(await statements()).toStrictEqual(["COPY", "INSERT"]);
      expect((await store.tail(0)).events).toStrictEqual(events);
    } finally {
      await store.close();
    }
  });
});
