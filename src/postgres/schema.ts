import type { ClientBase } from "pg";
import { AuditConfigError } from "../errors/index.js";

/** The table of events (partitioned by month of `occurred_at_ms`) and the one-row version table. @internal */
export const EVENTS_TABLE = "audit_events";
const VERSION_TABLE = "audit_schema_version";

/**
 * Advisory lock keys: one for migrations, one for writers (inserts and prune), one for creating
 * partitions. Inserts hold theirs until commit so that insertion order (`seq`) is commit order, which
 * `tail` relies on; partitions are created outside it, so that one waiting for the table's lock never
 * holds up the writers.
 * @internal
 */
export const LOCKS = { migrate: 0x67617564_01, write: 0x67617564_02, partitions: 0x67617564_03 } as const;

/**
 * Schema migrations of the PostgreSQL store, in order; migration N brings a database from version N-1
 * to N. Never edit a shipped migration: add a new one.
 * @internal
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the columns every filter uses, and the whole event as protobuf in `event`, as in the SQLite
  // store. Partitioned by time (one partition per UTC month, created when an insert needs it) so that
  // prune drops whole months. A partitioned table's keys must include the partition key, so the key is
  // (event_id, occurred_at_ms): a redelivered event carries both unchanged. Every index ends in
  // (occurred_at_ms, seq), the order of pages, so a filtered first page reads one index range.
  `CREATE TABLE ${EVENTS_TABLE} (
     seq bigserial NOT NULL,
     event_id text NOT NULL,
     event_type text NOT NULL,
     occurred_at_ms bigint NOT NULL,
     service text NOT NULL,
     operation text NOT NULL,
     actor_id text NOT NULL,
     target_type text NOT NULL,
     target_id text NOT NULL,
     success boolean NOT NULL,
     code text NOT NULL,
     decision text NOT NULL,
     request_id text NOT NULL,
     trace_id text NOT NULL,
     event bytea NOT NULL,
     PRIMARY KEY (event_id, occurred_at_ms)
   ) PARTITION BY RANGE (occurred_at_ms);
   CREATE INDEX ${EVENTS_TABLE}_time ON ${EVENTS_TABLE} (occurred_at_ms, seq);
   CREATE INDEX ${EVENTS_TABLE}_seq ON ${EVENTS_TABLE} (seq);
   CREATE INDEX ${EVENTS_TABLE}_actor ON ${EVENTS_TABLE} (actor_id, occurred_at_ms, seq);
   CREATE INDEX ${EVENTS_TABLE}_target ON ${EVENTS_TABLE} (target_type, target_id, occurred_at_ms, seq);
   CREATE INDEX ${EVENTS_TABLE}_request ON ${EVENTS_TABLE} (request_id, occurred_at_ms, seq);
   CREATE INDEX ${EVENTS_TABLE}_trace ON ${EVENTS_TABLE} (trace_id, occurred_at_ms, seq);`,
  // 2: narrower indexes, for less work per insert. Pages are still read in (occurred_at_ms, seq)
  // order: an index ending in occurred_at_ms gives that order but for ties of the same millisecond,
  // which an incremental sort puts in seq order. Actor and target keep the time (one actor's first
  // page reads 50 entries, however many events it has); a call's or a trace's events are few, so
  // their index holds the id alone (equal ids share one entry), and events without a trace are not
  // in the trace index. (seq) stays: `tail` reads in its order.
  `DROP INDEX ${EVENTS_TABLE}_time, ${EVENTS_TABLE}_actor, ${EVENTS_TABLE}_target, ${EVENTS_TABLE}_request,
     ${EVENTS_TABLE}_trace;
   CREATE INDEX ${EVENTS_TABLE}_time ON ${EVENTS_TABLE} (occurred_at_ms);
   CREATE INDEX ${EVENTS_TABLE}_actor ON ${EVENTS_TABLE} (actor_id, occurred_at_ms);
   CREATE INDEX ${EVENTS_TABLE}_target ON ${EVENTS_TABLE} (target_type, target_id, occurred_at_ms);
   CREATE INDEX ${EVENTS_TABLE}_request ON ${EVENTS_TABLE} (request_id);
   CREATE INDEX ${EVENTS_TABLE}_trace ON ${EVENTS_TABLE} (trace_id) WHERE trace_id <> '';`,
];

/** The schema version this library writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database's schema version: 0 when it has no audit schema yet. @internal */
export async function schemaVersion(client: ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text t", [VERSION_TABLE]);
  if (exists.rows[0]?.t == null) return 0;
  const row = await client.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`);
  return row.rows[0]?.version ?? 0;
}

/**
 * Refuses a database whose encoding cannot hold any event's text: in LATIN1 (or any encoding but
 * UTF8) an event naming `東京` fails with 22P05, and a delivery pipeline retries it for ever, holding
 * up the events behind it. SQL_ASCII is taken: it stores the UTF-8 the store sends unchecked and
 * gives it back as it was, and the store only compares it byte by byte (equality, COLLATE "C").
 */
async function checkEncoding(client: ClientBase): Promise<void> {
  const row = await client.query<{ server_encoding: string }>("SHOW server_encoding");
  const encoding = row.rows[0]?.server_encoding ?? "";
  if (encoding === "UTF8" || encoding === "SQL_ASCII") return;
  throw new AuditConfigError(
    `postgres store: the database's encoding is ${encoding}, which cannot hold every event's text; use a UTF8 database (CREATE DATABASE audit ENCODING 'UTF8' TEMPLATE template0)`,
  );
}

function refuseNewer(version: number): void {
  if (version > SCHEMA_VERSION) {
    throw new AuditConfigError(
      `postgres store: the database has schema version ${version}, newer than this library's ${SCHEMA_VERSION}; upgrade grpc-audit`,
    );
  }
}

/**
 * Brings the database to the latest version in one transaction, holding an advisory lock so that
 * processes opening the store at once migrate it once. Refuses a database written by a newer version
 * of the library, or one not in UTF8. Returns the version it started from. The transaction is ended
 * by the server when left idle `idleTimeoutMs` (its client gone silently), and never by a role's
 * `statement_timeout` or `lock_timeout`: rebuilding a big table's indexes, or waiting for another
 * process's migration, may rightly take long.
 * @internal
 */
export async function migrate(client: ClientBase, idleTimeoutMs: number): Promise<number> {
  await checkEncoding(client);
  await client.query(
    `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${idleTimeoutMs}; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0`,
  );
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.migrate]);
    const from = await schemaVersion(client);
    refuseNewer(from);
    if (from === 0) await client.query(`CREATE TABLE ${VERSION_TABLE} (version integer NOT NULL)`);
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1] ?? "");
    }
    if (from === 0) await client.query(`INSERT INTO ${VERSION_TABLE} VALUES ($1)`, [SCHEMA_VERSION]);
    // Only when migrated: a writer role without UPDATE rights opens a current database.
    else if (from < SCHEMA_VERSION)
      await client.query(`UPDATE ${VERSION_TABLE} SET version = $1`, [SCHEMA_VERSION]);
    await client.query("COMMIT");
    return from;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** For a read-only store: refuses a database without the schema, with a newer one, or not in UTF8. @internal */
export async function checkVersion(client: ClientBase): Promise<void> {
  await checkEncoding(client);
  const version = await schemaVersion(client);
  if (version === 0) throw new AuditConfigError("postgres store: not an audit store (no schema)");
  refuseNewer(version);
}
