// The PostgreSQL store passes the store contract, on a real PostgreSQL server (a fresh database per case).
import { afterAll, beforeAll } from "vitest";
import { openPostgresStore } from "../../src/postgres/postgres-store.js";
import { SCHEMA_VERSION } from "../../src/postgres/schema.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { describeStoreContract } from "./contract.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

describeStoreContract(
  "PostgreSQL",
  async () => {
    const connectionString = await server.createDatabase();
    const sql = (text: string, values: unknown[]) =>
      withClient(connectionString, (c) => c.query(text, values));
    return {
      store: await openPostgresStore({ connectionString }),
      damage: async (eventId, bytes) => {
        await sql("UPDATE audit_events SET event = $1 WHERE event_id = $2", [Buffer.from(bytes), eventId]);
      },
      editColumn: async (eventId, column, value) => {
        await sql(`UPDATE audit_events SET ${column} = $1 WHERE event_id = $2`, [value, eventId]);
      },
      setSchemaVersion: async (version) => {
        await sql("UPDATE audit_schema_version SET version = $1", [version]);
      },
      reopen: () => openPostgresStore({ connectionString }),
    };
  },
  SCHEMA_VERSION,
);
