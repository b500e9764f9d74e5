import type { Database } from "better-sqlite3";
import type { EncodedEvent } from "../emitters/sink.js";
import { AuditConfigError, AuditEmitError } from "../errors/index.js";
import { report } from "../errors/report.js";
import { decisionOf, type EventColumns } from "../event/event-columns.js";
import { eventKind } from "../event/kinds.js";
import { encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { type Checkpointer, startCheckpointer } from "./checkpointer.js";
import { diskProblem } from "./disk-errors.js";
import { EventIdConflictError } from "./event-id-conflict.js";
import { type FileGuard, fileId, guardStoreFile, logPathOf } from "./file-identity.js";
import { columnInserter } from "./insert-columns.js";
import { PAGE_SIZE } from "./open-database.js";
import type { AuditStoreOptions } from "./store-options.js";

/**
 * The write path of a store opened for writing: inserts in one transaction per batch, deletes, the
 * checkpoints of the write-ahead log, and the check that the path still names the file written to.
 * @internal
 */
export interface StoreWriter {
  /**
   * Stores events (see `AuditStore.insert`); returns how many were new. An event whose id is stored
   * with other bytes refuses the batch with an EventIdConflictError: nothing of it is stored.
   */
  insert(events: readonly AuditEvent[]): number;
  /**
   * Stores events with their protobuf bytes as the delivery pipeline queued them; the bytes are
   * stored as they are. Returns how many were new.
   */
  insertEncoded(batch: readonly EncodedEvent[]): number;
  /** Stores a batch given as columns (see `AuditStore.insertColumns`); returns how many were new. */
  insertColumns(batch: EventColumns): number;
  /**
   * The writes of the store's sink: as `insert` and `insertEncoded`, but never waiting on the event
   * loop. SQLite's busy timeout is 0 for them, so another connection's lock fails them at once with
   * SQLITE_BUSY, and they do not wait for the checkpoint worker after the commit: the sink waits for
   * both between tries instead (see `storeSink`).
   */
  readonly atOnce: Pick<StoreWriter, "insert" | "insertEncoded">;
  /** True while the checkpoint worker empties a log beyond its bound: this process's writes hold off. */
  emptying(): boolean;
  /**
   * Runs `write`, which deletes rows, and tells the checkpointer how many it removed. `lost` says what
   * did not happen when the file was removed or replaced under the store.
   */
  remove<T>(write: () => T, deleted: (result: T) => number, lost: string): T;
  /**
   * Stops the checkpoint worker; empties the log into the file when the path no longer names it.
   * Never throws, so the store's `close()` always closes the database.
   */
  stop(): void;
}

const BATCH_NOT_STORED = "the events of this batch were not stored";

const POSITIONS_USED_UP =
  "cannot write it: its next position (seq) is above 2^53 - 1, where no query could read it: a row was put above that, or sqlite_sequence raised, from outside. " +
  "Move such rows back, then set it back: UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(seq), 0) FROM events WHERE seq <= 9007199254740991) WHERE name = 'events'";

/** Starts the write path of `db`, a store opened for writing at `options.path`. @internal */
export function startWriter(db: Database, options: AuditStoreOptions): StoreWriter {
  const { path } = options;
  const guard = guardStoreFile(path, db);
  const checkpointer = startCheckpoints(db, options);
  const insertRow = db.prepare(`INSERT OR IGNORE INTO events
      (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  // A row stored above 2^53 - 1 would be hidden from every query and tail (IN_POSITION_RANGE): SQLite
  // gives positions past the highest ever given, which only a change from outside puts up there. The
  // error rolls the batch back.
  const insertInRange = (...values: unknown[]): number => {
    const { changes, lastInsertRowid } = insertRow.run(...values);
    if (changes > 0 && Number(lastInsertRowid) > Number.MAX_SAFE_INTEGER) {
      throw new AuditEmitError(`audit store ${path}`, POSITIONS_USED_UP);
    }
    return changes;
  };
  const storedEvent = db.prepare("SELECT event FROM events WHERE event_id = ?").pluck();
  // A row skipped for its id is a redelivery only when the stored bytes are the same: another event
  // under that id would be lost without a word. The error rolls the batch back. Read for skipped rows only.
  const insertOrSame = (...values: unknown[]): number => {
    const changes = insertInRange(...values);
    if (changes === 0 && !sameBytes(storedEvent.get(values[0]), values[13]))
      throw new EventIdConflictError(path, String(values[0]));
    return changes;
  };
  const insertColumns = columnInserter(db, insertOrSame);
  // The row of an event stored with `bytes`, its protobuf encoding.
  const insertEvent = (e: AuditEvent, bytes: Uint8Array): number =>
    insertOrSame(
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
      bytes,
    );
  const insertMany = db.transaction((events: readonly AuditEvent[]) => {
    let inserted = 0;
    for (const e of events) inserted += insertEvent(e, encodeEvent(e));
    return inserted;
  });
  // Encoding the decoded event again would drop the fields of a newer version, altering the evidence.
  const insertEncoded = db.transaction((batch: readonly EncodedEvent[]) => {
    let inserted = 0;
    for (const { event, bytes } of batch) inserted += insertEvent(event, bytes);
    return inserted;
  });
  const written = <T>(write: () => T, rows: (result: T) => number, lost: string): T => {
    const result = writing(path, guard, write, lost);
    checkpointer?.written(rows(result));
    checkpointer?.waitWhileEmptying();
    return result;
  };
  // SQLite's busy handler sleeps inside the call, on the event loop: off for this one write.
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const writtenAtOnce = (write: () => number): number => {
    db.pragma("busy_timeout = 0");
    try {
      const inserted = writing(path, guard, write, BATCH_NOT_STORED);
      checkpointer?.written(inserted);
      return inserted;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
  };
  const count = (n: number) => n;
  return {
    insert: (events) =>
      whenLocked(path, busyTimeoutMs, () => written(() => insertMany(events), count, BATCH_NOT_STORED)),
    insertEncoded: (batch) => written(() => insertEncoded(batch), count, BATCH_NOT_STORED),
    insertColumns: (batch) => written(() => insertColumns(batch), count, BATCH_NOT_STORED),
    atOnce: {
      insert: (events) => writtenAtOnce(() => insertMany(events)),
      insertEncoded: (batch) => writtenAtOnce(() => insertEncoded(batch)),
    },
    emptying: () => checkpointer?.emptying() ?? false,
    remove: written,
    stop() {
      checkpointer?.stop();
      try {
        // SQLite leaves the log of a file that was moved or deleted at the path when it closes.
        guard?.release();
      } catch {
        // Whatever the file's state, the store's close() goes on to close the database.
      }
    },
  };
}

/** True when `stored`, an event's stored bytes, are `bytes`. */
function sameBytes(stored: unknown, bytes: unknown): boolean {
  return stored instanceof Uint8Array && bytes instanceof Uint8Array && Buffer.compare(stored, bytes) === 0;
}

/**
 * Runs a write. Before it, a path that no longer names the file opened refuses it (nothing goes into
 * a file nobody can open again); after it, such a path fails it although it committed, so the caller
 * (the delivery pipeline) keeps the events. SQLite's own error for a file this process may not write
 * is named as such.
 */
function writing<T>(path: string, guard: FileGuard | undefined, write: () => T, lost: string): T {
  guard?.check(lost);
  let result: T;
  try {
    result = write();
  } catch (error) {
    throw notWritable(path, error);
  }
  guard?.check(lost);
  return result;
}

/**
 * Runs `insert`; SQLite's lock errors (SQLITE_BUSY, SQLITE_LOCKED and their extended codes), which say
 * only "database is locked", as an AuditEmitError naming the file and `busyTimeoutMs`, in the words of
 * the store's open error and of the CLI, with SQLite's error as its `cause`.
 */
function whenLocked<T>(path: string, busyTimeoutMs: number, insert: () => T): T {
  try {
    return insert();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== "string" || !/^SQLITE_(?:BUSY|LOCKED)(?:_|$)/.test(code)) throw error;
    throw new AuditEmitError(
      `audit store ${path}`,
      `the database is locked by another process (still after busyTimeoutMs, ${busyTimeoutMs} ms); ${BATCH_NOT_STORED}`,
      { cause: error },
    );
  }
}

/**
 * SQLite's "attempt to write a readonly database" as an AuditConfigError naming the file: opened for
 * writing, a file this process may not write (another user's, a read-only file system) is opened
 * read-only without a word, and only its first write fails. A full (or failing) file system as an
 * AuditEmitError naming the file, which the delivery pipeline retries like any failed write, keeping
 * the events until there is space again. Any other error as it is.
 */
function notWritable(path: string, error: unknown): unknown {
  const disk = diskProblem(error);
  if (disk !== undefined) {
    return new AuditEmitError(`audit store ${path}`, `cannot write it: ${disk}`, { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "SQLITE_READONLY") return error;
  return new AuditConfigError(
    `audit store ${path}: cannot write it: this process may not write the file (or its file system is read-only); run as a user who may write it, such as the store's owner`,
    { cause: error },
  );
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
    file: fileId(options.path),
    logPath: logPathOf(db, options.path),
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
