// A database not in UTF8 (CREATE DATABASE … ENCODING 'LATIN1') opened fine, then every event with text
// it cannot hold failed with 22P05, for ever, holding up the delivery pipeline behind it: it is refused
// at open. SQL_ASCII stores the UTF-8 the store sends as it is: taken.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A new database in `encoding`, and its connection string. */
async function databaseIn(name: string, encoding: string): Promise<string> {
  await withClient(server.url, (c) =>
    c.query(`CREATE DATABASE ${name} ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`),
  );
  return server.url.replace(/\/postgres$/, `/${name}`);
}

describe("the database's encoding", () => {
  it("a LATIN1 database is refused at open, writable or read-only, saying what to do, and left as it was", async () => {
    const url = await databaseIn("latin", "LATIN1");
    const message = `postgres store ${url}: the database's encoding is LATIN1, which cannot hold every event's text; use a UTF8 database (CREATE DATABASE audit ENCODING 'UTF8' TEMPLATE template0)`;
    for (const readonly of [false, true]) {
      const opening = openPostgresStore({ connectionString: url, readonly });
      await expect(opening).rejects.toThrow(AuditConfigError);
      await expect(opening).rejects.toThrow(message);
    }
    const tables = await withClient(url, (c) =>
      c.query("SELECT 1 FROM pg_tables WHERE tablename LIKE 'audit%'"),
    );
    expect(tables.rowCount).toBe(0);
  });

  it("a SQL_ASCII database stores and finds any text as it was sent", async () => {
    const url = await databaseIn("ascii", "SQL_ASCII");
    const store = await openPostgresStore({ connectionString: url });
    try {
      const event = sampleEvent({ eventId: "tokyo-1" });
      const tokyo = { ...event, target: { type: "project", id: "東京 café", name: "Ω" } };
      expect(await store.insert([tokyo])).toBe(1);
      const page = await store.query({ targetId: "東京 café" }, {});
      expect(page.events).toStrictEqual([tokyo]);
    } finally {
      await store.close();
    }
  });
});
