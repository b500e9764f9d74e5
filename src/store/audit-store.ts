import fs from "node:fs";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { report } from "../emitters/emitter.js";
import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { decisionOf, type EventColumns } from "../event/event-columns.js";
import { eventKind } from "../event/kinds.js";
import { decodeEvent, encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { type Checkpointer, startCheckpointer } from "./checkpointer.js";
import { columnInserter } from "./insert-columns.js";
import {
  checkPruneOptions,
  cutReport,
  type PruneOptions,
  type PruneReport,
  type PruneRow,
  planPrune,
} from "./prune-plan.js";
import {
  type AuditQuery,
  type AuditStats,
  buildWhere,
  checkInsert,
  checkTail,
  encodeCursor,
  type PageOptions,
  resolvePage,
} from "./query.js";
import { checkSchema, migrate, SCHEMA_VERSION } from "./schema.js";
import {
  ABOVE_LAST_POSITION,
  aboveLastPosition,
  BELOW_FIRST_POSITION,
  belowFirstPosition,
  decodeRows,
  type EditedRow,
  FILTER_COLUMNS,
  type FilterColumns,
  IN_POSITION_RANGE,
  type StoredRow,
  type UndecodableRow,
  withProblems,
} from "./stored-rows.js";

/** The option names of `AuditStoreOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  path: 1,
  readonly: 1,
  busyTimeoutMs: 1,
  backgroundCheckpoints: 1,
  onError: 1,
  checkpointDriver: 1,
} satisfies Record<keyof AuditStoreOptions, 1>);

/** Options of `openAuditStore`. */
export interface AuditStoreOptions {
  /** The SQLite file; created (with its folder missing = error) when absent unless `readonly`. */
  path: string;
  /**
   * Open for reading only (the CLI's query, stats, tail and `prune --dry-run`): `insert` and `prune`
   * (but for a `dryRun`) throw an AuditConfigError. Default: false.
   */
  readonly?: boolean;
  /** How long a statement waits for a lock another process holds before failing. Default: 5000. */
  busyTimeoutMs?: number;
  /**
   * Run the write-ahead log's checkpoints on a worker thread instead of inside `insert` on the event
   * loop. Default: true. With false SQLite checkpoints every ~40 MiB of log during a commit. With
   * true, once the log is beyond ~40 MiB (other processes writing too), `insert` waits (at most
   * `busyTimeoutMs`) while the worker empties it.
   */
  backgroundCheckpoints?: boolean;
  /** Called when the checkpoint worker fails; the store then checkpoints inline. Default: ignore. */
  onError?: (error: Error) => void;
  /** @internal Module the checkpoint worker loads instead of better-sqlite3 (tests make it fail). Default: better-sqlite3. */
  checkpointDriver?: string;
}

/** One page of events, newest first, and the cursor of the next page (undefined on the last). */
export interface AuditPage {
  /** The page's events, newest first; at most the page's `limit`. */
  events: AuditEvent[];
  /** Opaque cursor to pass as `cursor` for the next page; undefined on the last page. */
  nextCursor: string | undefined;
  /** Rows of this page whose stored event cannot be read; present only when there are some. */
  undecodable?: UndecodableRow[];
}

/**
 * The embedded audit store: events in a SQLite file (WAL), indexed by time, type, actor, target,
 * operation, result and authz decision; queried with filters and cursor pagination.
 */
export interface AuditStore {
  /** The database file, as given in the options (":memory:" for an in-memory store). */
  readonly path: string;
  /** Stores events; an event id already stored is skipped (delivery is at-least-once). Returns how many were new. */
  insert(events: readonly AuditEvent[]): number;
  /**
   * The same as `insert`, given a batch in the stored columns with each event's protobuf bytes, which
   * are stored as they came (an ingester's batch: an event of a newer schema keeps its unknown fields).
   * Returns how many were new.
   * @internal
   */
  insertColumns(batch: EventColumns): number;
  /**
   * Events matching `filter`, newest first. Pages are cut by a cursor on (time, insertion order), so
   * paging visits every event that existed when it started exactly once, even while inserts continue.
   * A row at a position above 2^53 - 1, which the store never gives one, is left out (`tail(0)` names it).
   */
  query(filter?: AuditQuery, page?: PageOptions): AuditPage;
  /**
   * Events stored after insertion position `afterSeq`, oldest first (for following new events).
   * `undecodable` as in `AuditPage`; `edited`: rows whose filter columns do not match their event
   * (edited in place; `grpc-audit verify` reports them), present when there are any. From the start
   * (`afterSeq` 0), `undecodable` also names rows at a position below 1 or above 2^53 - 1, where the
   * store never puts one; pages never go past 2^53 - 1.
   */
  tail(
    afterSeq: number,
    limit?: number,
  ): { events: AuditEvent[]; lastSeq: number; undecodable?: UndecodableRow[]; edited?: EditedRow[] };
  /** Insertion position of the newest event (0 when empty). */
  lastSeq(): number;
  /** Counts by type, result, decision, top operations and hour, for the events matching `filter`. */
  stats(filter?: AuditQuery): AuditStats;
  /**
   * Deletes events that occurred before `before`, keeping each chain verifiable (see `pruneReport`);
   * returns how many. With `dryRun`, deletes nothing and returns how many it would delete. Throws an
   * AuditConfigError on a store opened `readonly`, unless `dryRun`.
   */
  prune(options: PruneOptions): number;
  /**
   * Deletes events that occurred before `before`, in one transaction, and says which older events it
   * kept and why. Per chain only a prefix of seqs that all occurred before `before` goes, and it ends
   * right before the last checkpoint that can end one, which is kept: the chain then starts at a signed
   * checkpoint that `verifyChains` checks the deleted prefix against. A chain without any checkpoint
   * loses the prefix of its events before `before` (verify reports it `missing` from seq 1), and
   * events without a chain go by time alone. `cutChains` deletes every older event instead. Reads
   * every stored event's chain link to find the chains.
   */
  pruneReport(options: PruneOptions): PruneReport;
  /** The store as a sink for the delivery pipeline (`createDeliveryEmitter`). */
  sink(): EventSink;
  /**
   * Stops the checkpoint worker, if any, and closes the database; when no other connection has it
   * open, SQLite checkpoints the write-ahead log and removes it.
   */
  close(): void;
}

/**
 * Page size of new stores: 64 KiB, SQLite's largest, instead of its 4 KiB default. Each batch dirties
 * one index page per actor and target it touches, and larger pages mean fewer pages to log and
 * checkpoint: inserting 1M events (bench/store.ts) ran at a median of 53k/s with 64 KiB pages against
 * 47k/s with 16 KiB and 27k/s with 4 KiB, while a first page of one actor's events still took 1–2 ms.
 * Existing files keep the page size they were created with.
 */
const PAGE_SIZE = 65536;

/**
 * The rows after a page's cursor, newest first. A row value: SQLite then searches the time index
 * (whose entries end in the rowid, `seq`) from the cursor, where the equivalent `a < ? OR (a = ? AND
 * b < ?)` scanned it from the newest event down to the cursor on every page. @internal
 */
export const AFTER_CURSOR = "(occurred_at_ms, seq) < (?, ?)";

/** The longest busy timeout better-sqlite3 takes (2^31 - 1 ms). */
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Opens (creating and migrating when needed) an audit store. Throws an AuditConfigError naming the
 * file for a missing folder, a file that is not a SQLite database, a database locked by another
 * process, one written by a newer version of this library, or one that is not an audit store (another
 * application's database, which it never writes into; an empty file is a new store unless `readonly`).
 *
 * ```ts
 * const store = openAuditStore({ path: "./audit.db" });
 * const { events } = store.query({ actorId: "alice", from: new Date(Date.now() - 7 * 86_400_000) });
 * ```
 */
export function openAuditStore(options: AuditStoreOptions): AuditStore {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("audit store: options must be an object with a `path`");
  rejectUnknownOptions("audit store", options, OPTION_NAMES);
  if (typeof options.path !== "string" || options.path === "") {
    throw new AuditConfigError("audit store: `path` must be a non-empty string");
  }
  const { path, readonly = false, busyTimeoutMs = 5000 } = options;
  // Checked here, before the file is created: SQLite would open the file named by the part before a
  // NUL, and better-sqlite3's own errors name its `timeout` option, not ours.
  if (path.includes("\0")) throw new AuditConfigError("audit store: `path` must not contain a NUL character");
  if (typeof readonly !== "boolean") throw new AuditConfigError("audit store: `readonly` must be a boolean");
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > MAX_BUSY_TIMEOUT_MS) {
    throw new AuditConfigError(
      `audit store: \`busyTimeoutMs\` must be a whole number of ms from 0 to ${MAX_BUSY_TIMEOUT_MS}, got ${String(busyTimeoutMs)}`,
    );
  }
  if (options.backgroundCheckpoints !== undefined && typeof options.backgroundCheckpoints !== "boolean") {
    throw new AuditConfigError("audit store: `backgroundCheckpoints` must be a boolean");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new AuditConfigError("audit store: `onError` must be a function");
  }
  let db: Database | undefined;
  try {
    if (!readonly) createPrivately(path);
    db = new BetterSqlite3(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
    db.pragma("synchronous = NORMAL"); // WAL + NORMAL: durable across process crashes, fast commits
    db.pragma("cache_size = -65536"); // 64 MiB of page cache: index pages of a large store stay in memory
    db.pragma("mmap_size = 268435456"); // read pages through a 256 MiB map instead of a syscall each
    if (readonly) readAnyVersion(db, readSchema(db, true));
    else prepareSchema(db);
  } catch (error) {
    if (db?.open === true) db.close();
    throw openError(path, error);
  }
  const checkpointer = readonly ? undefined : startCheckpoints(db, options);

  const insertRow = readonly
    ? undefined
    : db.prepare(`INSERT OR IGNORE INTO events
        (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  /**
   * Every row as the prune plan reads it, in insertion order. Not those above the position range:
   * their position would round to another row's, which the delete would remove; they stay.
   */
  const pruneRows = db.prepare(
    `SELECT seq position, occurred_at_ms occurredAtMs, event FROM events WHERE ${IN_POSITION_RANGE} ORDER BY seq`,
  );
  const insertColumns = insertRow === undefined ? undefined : columnInserter(db, insertRow);
  const insertMany = db.transaction((events: readonly AuditEvent[]) => {
    let inserted = 0;
    for (const e of events) {
      const info = insertRow?.run(
        e.eventId,
        eventKind(e.eventType),
        e.occurredAt?.getTime() ?? 0,
        e.service,
        e.operation,
        e.actor?.id ?? "",
        e.target?.type ?? "",
        e.target?.id ?? "",
        e.result?.success === true ? 1 : 0,
        e.result?.code ?? "",
        decisionOf(e),
        e.requestId,
        e.traceId,
        encodeEvent(e),
      );
      inserted += info?.changes ?? 0;
    }
    return inserted;
  });
  /** The page's events, and its unreadable rows when there are any (never a throw for one bad row). */
  const readRows = (rows: readonly StoredRow[]) => withProblems(decodeRows(rows));
  /** Rows at a position below 1 (see `belowFirstPosition`), for a tail from the start. */
  const belowFirstSeq = (limit: number): UndecodableRow[] =>
    belowFirstPosition(
      db
        .prepare(`SELECT seq, event_id, occurred_at_ms FROM events ${BELOW_FIRST_POSITION} LIMIT ?`)
        .all(limit) as Omit<StoredRow, "event">[],
    );
  /** Rows at a position above 2^53 - 1 (see `aboveLastPosition`), for a tail from the start. */
  const aboveLastSeq = (limit: number): UndecodableRow[] =>
    aboveLastPosition(
      db
        .prepare(
          `SELECT CAST(seq AS TEXT) seq, event_id, occurred_at_ms FROM events ${ABOVE_LAST_POSITION} LIMIT ?`,
        )
        .all(limit) as { seq: string; event_id: string; occurred_at_ms: number }[],
    );

  const readOnly = () => new AuditConfigError(`audit store ${path}: opened read-only`);
  /** Runs a write; SQLite's own error for a file this process may not write is named as such. */
  const writing = <T>(write: () => T): T => {
    try {
      return write();
    } catch (error) {
      throw notWritable(path, error);
    }
  };
  const store: AuditStore = {
    path,
    insertColumns(batch) {
      if (insertColumns === undefined) throw readOnly();
      const inserted = writing(() => insertColumns(batch));
      checkpointer?.written(inserted);
      return inserted;
    },
    insert(events) {
      if (insertRow === undefined) throw readOnly();
      checkInsert(events);
      const inserted = writing(() => insertMany(events));
      checkpointer?.written(inserted);
      return inserted;
    },
    query(filter = {}, page = {}) {
      const { limit, cursor } = resolvePage(page);
      const where = buildWhere(filter);
      where.clauses.push(IN_POSITION_RANGE); // rows beyond it are named by tail(0), what verify reads
      if (cursor !== undefined) {
        where.clauses.push(AFTER_CURSOR);
        where.params.push(cursor.occurredAtMs, cursor.seq);
      }
      const rows = db
        .prepare(
          `SELECT seq, event_id, occurred_at_ms, event FROM events ${where.sql()} ORDER BY occurred_at_ms DESC, seq DESC LIMIT ?`,
        )
        .all(...where.params, limit + 1) as StoredRow[];
      const pageRows = rows.slice(0, limit);
      const last = pageRows[pageRows.length - 1];
      const { events, ...problems } = readRows(pageRows);
      return {
        events,
        nextCursor:
          rows.length > limit && last !== undefined ? encodeCursor(last.occurred_at_ms, last.seq) : undefined,
        ...problems,
      };
    },
    tail(afterSeq, limit = 500) {
      checkTail(afterSeq, limit);
      const rows = db
        .prepare(
          `SELECT seq, event_id, occurred_at_ms, event, ${FILTER_COLUMNS} FROM events WHERE seq > ? AND ${IN_POSITION_RANGE} ORDER BY seq LIMIT ?`,
        )
        .all(afterSeq, limit) as (StoredRow & FilterColumns)[];
      const { events, ...problems } = readRows(rows);
      // Read from the start (0): the rows below position 1 and above 2^53 - 1 are named too.
      const hidden = afterSeq === 0 ? [...belowFirstSeq(limit), ...aboveLastSeq(limit)] : [];
      if (hidden.length > 0) problems.undecodable = [...hidden, ...(problems.undecodable ?? [])];
      return { events, lastSeq: rows[rows.length - 1]?.seq ?? afterSeq, ...problems };
    },
    lastSeq: () => Number(db.prepare("SELECT coalesce(max(seq), 0) FROM events").pluck().get()),
    stats(filter = {}) {
      const where = buildWhere(filter);
      const all = (sql: string) => db.prepare(sql).all(...where.params) as Record<string, string | number>[];
      const counts = (rows: Record<string, string | number>[], key: string) =>
        Object.fromEntries(rows.map((r) => [String(r[key]), Number(r.n)]));
      const whereAnd = (extra: string) =>
        where.clauses.length === 0 ? `WHERE ${extra}` : `${where.sql()} AND ${extra}`;
      return {
        total: Number(all(`SELECT count(*) n FROM events ${where.sql()}`)[0]?.n ?? 0),
        byType: counts(
          all(`SELECT event_type k, count(*) n FROM events ${where.sql()} GROUP BY k ORDER BY k`),
          "k",
        ),
        byResult: counts(
          all(
            `SELECT CASE success WHEN 1 THEN 'success' ELSE 'failure' END k, count(*) n FROM events ${where.sql()} GROUP BY k ORDER BY k`,
          ),
          "k",
        ),
        byDecision: counts(
          all(
            `SELECT decision k, count(*) n FROM events ${whereAnd("decision != ''")} GROUP BY k ORDER BY k`,
          ),
          "k",
        ),
        topOperations: all(
          `SELECT operation, count(*) n FROM events ${whereAnd("operation != ''")} GROUP BY operation ORDER BY n DESC, operation LIMIT 10`,
        ).map((r) => ({ operation: String(r.operation), count: Number(r.n) })),
        perHour: all(
          // SQLite's integer division truncates toward zero: 1 is taken off a negative remainder, so an
          // event before 1970 counts in the hour it occurred in (floor), not in the one after it.
          `SELECT occurred_at_ms / 3600000 - (occurred_at_ms % 3600000 < 0) h, count(*) n FROM events ${where.sql()} GROUP BY h ORDER BY h`,
        ).map((r) => ({
          hour: new Date(Number(r.h) * 3_600_000).toISOString(),
          count: Number(r.n),
        })),
      };
    },
    prune: (options) => store.pruneReport(options).deleted,
    pruneReport(options) {
      checkPruneOptions(options, "audit store");
      // SQLite would refuse the deletes with its own "attempt to write a readonly database".
      if (readonly && options.dryRun !== true) throw readOnly();
      const beforeMs = options.before.getTime();
      if (options.cutChains === true) {
        const sql = options.dryRun === true ? "SELECT count(*) FROM events" : "DELETE FROM events";
        const where = `${sql} WHERE occurred_at_ms < ?`;
        if (options.dryRun === true) return cutReport(Number(db.prepare(where).pluck().get(beforeMs)));
        const deleted = writing(() => db.prepare(where).run(beforeMs).changes);
        checkpointer?.written(deleted);
        return cutReport(deleted);
      }
      const plan = () => planPrune(pruneRows.iterate() as Iterable<PruneRow>, beforeMs);
      if (options.dryRun === true) return plan().report;
      // Immediate: no insert between the plan and its deletes, which could start a chain anew.
      const result = writing(() =>
        db
          .transaction(() => {
            const { positions, report } = plan();
            const remove = db.prepare("DELETE FROM events WHERE seq = ?");
            for (let i = 0; i < positions.length; i++) remove.run(positions[i]);
            return report;
          })
          .immediate(),
      );
      checkpointer?.written(result.deleted);
      return result;
    },
    sink: () => ({
      name: `sqlite-store:${path}`,
      write: async (batch) => {
        store.insert(batch);
      },
    }),
    close: () => {
      checkpointer?.stop();
      db.close(); // the last connection: SQLite checkpoints what is left and removes the log
    },
  };
  return store;
}

/** Mode of a store file this library creates: audit events name people, only the owner may read them. */
const STORE_FILE_MODE = 0o600;

/**
 * Creates the store file empty with mode 0600 unless it exists. SQLite would create it with 0644
 * (less the umask), and gives its -wal and -shm files the mode of the database file.
 */
function createPrivately(path: string): void {
  if (path === ":memory:") return;
  try {
    fs.closeSync(fs.openSync(path, "wx", STORE_FILE_MODE));
  } catch {
    // It exists, or it cannot be created: better-sqlite3 opens it or says why it cannot.
  }
}

/** Checkpoint every ~40 MiB of log, not SQLite's default 4 MiB: fewer, larger copies. */
const CHECKPOINT_PAGES = (40 * 1024 * 1024) / PAGE_SIZE;

/** The log's bound: beyond it the checkpoint worker empties the log; a log started anew is cut back to it. */
const LOG_LIMIT_BYTES = 40 * 1024 * 1024;

function startCheckpoints(db: Database, options: AuditStoreOptions): Checkpointer | undefined {
  const inline = () => db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
  if (options.backgroundCheckpoints === false) {
    inline();
    return undefined;
  }
  db.pragma("wal_autocheckpoint = 0");
  db.pragma(`journal_size_limit = ${LOG_LIMIT_BYTES}`);
  return startCheckpointer({
    path: options.path,
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
    rows: 20_000,
    maxDelayMs: 1000,
    logLimitBytes: LOG_LIMIT_BYTES,
    driver: options.checkpointDriver,
    onFailure: (error) => {
      if (db.open) inline();
      report(
        options.onError,
        new AuditConfigError(`audit store ${options.path}: checkpoint worker failed; checkpointing inline`, {
          cause: error,
        }),
      );
    },
  });
}

/** The columns added after schema version 1, with the version that added each. */
const ADDED_COLUMNS = [
  ["decision", 2],
  ["request_id", 3],
  ["trace_id", 3],
] as const;

/**
 * A read-only connection cannot migrate a store written by an earlier version, whose rows lack the
 * columns added since (`backfillColumns`): every statement naming them (stats, tail, the decision,
 * request id and trace id filters) would fail with "no such column". A temporary view named `events`
 * (temporary objects live outside the file, so a read-only connection may create them, and they are
 * found before the file's table) gives each missing column the value `backfillColumns` would store,
 * read from the row's event; "" for an event that cannot be decoded, as there.
 */
function readAnyVersion(db: Database, version: number): void {
  if (version >= 3) return;
  db.function("grpc_audit_added_column", { deterministic: true }, (bytes: unknown, column: unknown) => {
    if (!(bytes instanceof Uint8Array)) return "";
    let event: AuditEvent;
    try {
      event = decodeEvent(bytes);
    } catch {
      return "";
    }
    return column === "decision"
      ? decisionOf(event)
      : column === "request_id"
        ? event.requestId
        : event.traceId;
  });
  const added = ADDED_COLUMNS.map(([column, since]) =>
    version < since ? `grpc_audit_added_column(event, '${column}') AS ${column}` : column,
  );
  db.exec(`CREATE TEMP VIEW events AS
    SELECT seq, event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id,
      success, code, ${added.join(", ")}, event
    FROM main.events`);
}

/** The schema version (`checkSchema`), with the version and the table list read from one snapshot. */
function readSchema(db: Database, readonly: boolean): number {
  return db.transaction(() => checkSchema(db, readonly)).deferred();
}

/**
 * Checks the schema, then creates or migrates it and fills in the columns added since, all in one
 * IMMEDIATE transaction: a process killed midway leaves the file as it was (never at a new version
 * with the new columns empty), and processes opening one file at once take turns, each reading the
 * version the one before it left. WAL only after the commit: a transaction cannot switch the journal
 * mode, and another application's database, refused inside, is never switched.
 */
function prepareSchema(db: Database): void {
  db.pragma(`page_size = ${PAGE_SIZE}`); // takes effect only on a new, empty file
  // Most opens find the current schema: read without the write lock, which another writer may hold.
  if (readSchema(db, false) < SCHEMA_VERSION) {
    db.transaction(() => {
      checkSchema(db, false); // again: another process may have migrated it meanwhile
      const from = migrate(db);
      if (from > 0 && from < 3) backfillColumns(db, from);
    }).immediate();
  }
  db.pragma("journal_mode = WAL");
}

/**
 * Rows written by an earlier schema version lack the values of the columns added since (the authz
 * decision from version 2, request and trace ids from version 3): read them from the stored events. A
 * row whose event cannot be decoded keeps the defaults (the CLI shows it as unreadable), and never
 * stops the store from opening. Runs in the transaction that adds the columns (`prepareSchema`).
 */
function backfillColumns(db: Database, from: number): void {
  const rows = db.prepare("SELECT seq, event FROM events").iterate() as Iterable<{
    seq: number;
    event: Uint8Array;
  }>;
  const update = db.prepare(
    from < 2
      ? "UPDATE events SET decision = ?, request_id = ?, trace_id = ? WHERE seq = ?"
      : "UPDATE events SET request_id = ?, trace_id = ? WHERE seq = ?",
  );
  // Only the new values are kept while reading (the connection cannot update while it iterates).
  const updates: (string | number)[][] = [];
  for (const row of rows) {
    let event: AuditEvent;
    try {
      event = decodeEvent(row.event);
    } catch {
      continue; // undecodable: left with the defaults
    }
    const ids = [event.requestId, event.traceId, row.seq];
    updates.push(from < 2 ? [decisionOf(event), ...ids] : ids);
  }
  for (const values of updates) update.run(...values); // inside the migration's transaction
}

/** Why a reader that may read the file, but not write its folder, cannot read the store. */
const READONLY_FOLDER =
  "cannot read it: reading a store (WAL mode) needs its -shm file, which this process may not create in the store's folder; " +
  "run as a user who may write that folder (such as the store's owner), or give this user write access to it";

/**
 * SQLite's "attempt to write a readonly database" as an AuditConfigError naming the file: opened for
 * writing, a file this process may not write (another user's, a read-only file system) is opened
 * read-only without a word, and only its first write fails. Any other error as it is.
 */
function notWritable(path: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "SQLITE_READONLY") return error;
  return new AuditConfigError(
    `audit store ${path}: cannot write it: this process may not write the file (or its file system is read-only); run as a user who may write it, such as the store's owner`,
    { cause: error },
  );
}

function openError(path: string, error: unknown): AuditConfigError {
  if (error instanceof AuditConfigError) {
    return new AuditConfigError(error.message.replace(/^audit store:/, `audit store ${path}:`), {
      cause: error,
    });
  }
  const code = (error as { code?: string }).code ?? "";
  const reason =
    code === "SQLITE_CANTOPEN"
      ? "cannot open the file (does its folder exist, and may this process read it?)"
      : code === "SQLITE_NOTADB"
        ? "the file is not a SQLite database"
        : code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
          ? "the database is locked by another process"
          : code === "SQLITE_READONLY_DIRECTORY"
            ? READONLY_FOLDER
            : error instanceof Error
              ? error.message
              : String(error);
  return new AuditConfigError(`audit store ${path}: ${reason}`, { cause: error });
}
