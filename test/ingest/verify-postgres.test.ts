// `grpc-audit verify --db postgres://…` as a child process against a real PostgreSQL: every chain of
// the shared store (one per server) verifies whatever order ingesters inserted the events in, the JSON
// report is the one the SQLite store gives for the same trail, and tampering gives the same exit codes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERIFY_EXIT_CODES } from "../../src/cli/commands/verify.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { edited, forgedCheckpoint } from "../chain/tamper.js";
import { KEY_ID, PUBLIC_KEY, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
let keyFile: string;
let dir: string;
/** Two servers' trails: 10 mutations each, a checkpoint every 4, sealed. */
let trails: AuditEvent[][];

beforeAll(async () => {
  dir = tempDir();
  keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  [server, trails] = await Promise.all([
    startPostgresServer(),
    Promise.all([recordTrail(10, { checkpointEvery: 4 }), recordTrail(10, { checkpointEvery: 4 })]),
    ensureBuilt(),
  ]).then(([s, t]) => [s, t] as const);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await server?.stop();
});

/** A new database holding `batches`, each inserted as one batch, in this order. */
async function database(batches: readonly (readonly AuditEvent[])[]): Promise<string> {
  const url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  for (const batch of batches) await store.insert(batch);
  await store.close();
  return url;
}
const verify = (db: string, ...extra: string[]) =>
  runCli(["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed", ...extra]);
const trail = (i: number): AuditEvent[] => trails[i] ?? [];
const event = (i: number, seq: number): AuditEvent => {
  const found = trail(i)[seq - 1];
  if (found === undefined) throw new Error(`no seq ${seq}`);
  return found;
};

describe("grpc-audit verify --db postgres://", () => {
  it("gives the JSON report the SQLite store gives for the same events", async () => {
    const events = [...trail(0), ...trail(1)];
    const sqlite = join(dir, "same.db");
    const store = openAuditStore({ path: sqlite });
    store.insert(events);
    store.close();
    const [fromSqlite, fromPostgres] = await Promise.all([
      verify(sqlite, "--json"),
      verify(await database([events]), "--json"),
    ]);
    expect([fromPostgres.code, fromPostgres.stderr]).toStrictEqual([0, ""]);
    expect(JSON.parse(fromPostgres.stdout)).toStrictEqual(JSON.parse(fromSqlite.stdout));
    expect(JSON.parse(fromPostgres.stdout)).toMatchObject({ ok: true, events: 26, exitCode: 0 });
  });

  it("verifies every server's chain when ingesters inserted batches out of order", async () => {
    // Two ingesters shared the stream: the second half of each trail committed before the first.
    const url = await database([
      trail(1).slice(7),
      trail(0).slice(5),
      trail(0).slice(0, 5),
      trail(1).slice(0, 7),
    ]);
    const run = await verify(url);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    for (const i of [0, 1]) {
      expect(run.stdout).toContain(`chain ${event(i, 1).chain?.chainId} (projects): 13 events, seq 1-13`);
    }
    expect(run.stdout).toContain("verified: 2 chains, no findings");
  });

  it.each([
    [
      "a deleted event",
      "missing",
      6,
      (sql: Sql) => sql("DELETE FROM audit_events WHERE event_id = $1", [event(1, 6).eventId]),
    ],
    [
      "an edited event",
      "modified",
      7,
      (sql: Sql) =>
        sql("UPDATE audit_events SET event = $1 WHERE event_id = $2", [
          encodeEvent(edited(event(1, 7))),
          event(1, 7).eventId,
        ]),
    ],
    [
      "a forged checkpoint",
      "bad_signature",
      10,
      (sql: Sql) =>
        sql("UPDATE audit_events SET event = $1 WHERE event_id = $2", [
          encodeEvent(forgedCheckpoint(event(1, 10))),
          event(1, 10).eventId,
        ]),
    ],
    [
      "the final checkpoint deleted",
      "truncated",
      12,
      (sql: Sql) => sql("DELETE FROM audit_events WHERE event_id = $1", [event(1, 13).eventId]),
    ],
  ] as const)(
    "%s in one server's chain: %s at seq %s, exit code as for SQLite",
    async (_, kind, seq, tamper) => {
      const url = await database([trail(0), trail(1)]);
      await withClient(url, (client) => tamper((text, params) => client.query(text, params)));
      const run = await verify(url);
      expect(run.code).toBe(VERIFY_EXIT_CODES[kind]);
      expect(run.stdout).toMatch(
        new RegExp(`^chain ${event(1, 1).chain?.chainId} .*\\n  ${kind} +seq ${seq}\\b`, "m"),
      );
      expect(run.stdout).toContain(`chain ${event(0, 1).chain?.chainId} (projects): 13 events`);
    },
  );

  it("a server it cannot reach is exit 1, without the password", async () => {
    const run = await runCli(["verify", "--db", "postgres://audit:s3cret-pw@127.0.0.1:1/audit"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: postgres store postgres:\/\/audit@127\.0\.0\.1:1\/audit: .*\n$/);
    expect(run.stderr).not.toContain("s3cret");
  });
});

type Sql = (text: string, params: unknown[]) => Promise<unknown>;
