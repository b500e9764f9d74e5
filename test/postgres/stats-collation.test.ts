// the PostgreSQL store's stats must give the SQLite store's answer for the same events on a
// database created with a linguistic collation (the usual production default, e.g. en_US.UTF-8 or
// ICU en-US), not only on the C-locale test cluster. topOperations breaks ties by name and keeps 10:
// which operations make the cut must not depend on the database's collation.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("stats on a database with a linguistic collation", () => {
  it("top operations (ties by name) are those of the SQLite store", async () => {
    const name = "review_icu";
    await withClient(server.url, (c) =>
      c.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`),
    );
    const url = server.url.replace(/\/[^/]*$/, `/${name}`);
    // 12 operations, one event each: upper and lower case, so that byte order and en-US order differ.
    const operations = ["a", "B", "c", "D", "e", "F", "g", "H", "i", "J", "k", "L"].map((x) => `/svc.S/${x}`);
    const events = operations.map((operation, i) =>
      sampleEvent({ eventId: `op-${i}`, operation, occurredAt: new Date(Date.UTC(2026, 0, 2, 3, i)) }),
    );
    const pg = await openPostgresStore({ connectionString: url });
    const sqlite = openAuditStore({ path: join(tempDir(), "collation.db") });
    try {
      await pg.insert(events);
      sqlite.insert(events);
      const fromSqlite = sqlite.stats({});
      const fromPostgres = await pg.stats({});
      expect(fromPostgres.topOperations).toStrictEqual(fromSqlite.topOperations);
      expect(Object.keys(fromPostgres.byType)).toStrictEqual(Object.keys(fromSqlite.byType));
    } finally {
      sqlite.close();
      await pg.close();
    }
  });
});
