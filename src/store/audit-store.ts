import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import type { EventColumns } from "../event/event-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { openDatabase } from "./open-database.js";
import type { PruneOptions, PruneReport } from "./prune-plan.js";
import { type AuditPage, type AuditQuery, type AuditStats, checkInsert, type PageOptions } from "./query.js";
import { type AuditStoreOptions, checkStoreOptions } from "./store-options.js";
import { storePrune } from "./store-prune.js";
import { storeReads } from "./store-reads.js";
import { storeSink } from "./store-sink.js";
import { startWriter } from "./store-writer.js";
import type { EditedRow, UndecodableRow } from "./stored-rows.js";

export { AFTER_CURSOR, type AuditPage } from "./query.js";
export type { AuditStoreOptions } from "./store-options.js";

/**
 * The embedded audit store: events in a SQLite file (WAL), indexed by time, type, actor, target,
 * operation, result and authz decision; queried with filters and cursor pagination.
 */
export interface AuditStore {
  /** The database file, as given in the options (":memory:" for an in-memory store). */
  readonly path: string;
  /**
   * Stores events; an event already stored, the same bytes under its id, is skipped (delivery is
   * at-least-once). Returns how many were new. Throws an AuditError naming the id, and stores nothing,
   * when another event is stored under an id of the batch (a `newEventId` that repeated one). Throws an AuditEmitError naming the file when it (or its `-wal`) was deleted, moved or
   * replaced since the store opened it: SQLite would write into a file nobody can open again; and one
   * naming the file and `busyTimeoutMs` ("the database is locked by another process", SQLite's error
   * as its `cause`) when another connection held the write lock all that time. Nothing is stored then.
   */
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
   * store never puts one; pages never go past 2^53 - 1. `limit`: 1 to 1000. Default: 500.
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
   * Deletes events that occurred before `before`, in short transactions that let other processes'
   * writers in between (it blocks this process until done), and says which older events it kept and why. Per chain only a prefix of seqs that all occurred before `before` goes, and it ends
   * right before the last checkpoint that can end one, which is kept: the chain then starts at a signed
   * checkpoint that `verifyChains` checks the deleted prefix against. A chain without any checkpoint
   * loses the prefix of its events before `before` (verify reports it `missing` from seq 1), and
   * events without a chain go by time alone. `cutChains` deletes every older event instead. Reads
   * every stored event's chain link to find the chains.
   */
  pruneReport(options: PruneOptions): PruneReport;
  /**
   * The store as a sink for the delivery pipeline (`createDeliveryEmitter`). It stores each event's
   * bytes as the pipeline queued them: an event a newer version spooled keeps its unknown fields. Its
   * writes never block the event loop: they wait for another process's lock (up to `busyTimeoutMs`,
   * then fail and the pipeline retries) on timers, not inside SQLite.
   */
  sink(): EventSink;
  /**
   * Stops the checkpoint worker, if any, and closes the database; when no other connection has it
   * open, SQLite checkpoints the write-ahead log and removes it.
   */
  close(): void;
}

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
  const opened = checkStoreOptions(options);
  const { path } = opened;
  const db = openDatabase(opened);
  const writer = opened.readonly ? undefined : startWriter(db, options);
  const readOnly = () => new AuditConfigError(`audit store ${path}: opened read-only`);
  const writable = () => {
    if (writer === undefined) throw readOnly();
    return writer;
  };
  const pruneReport = storePrune(db, writer, readOnly);
  const store: AuditStore = {
    path,
    ...storeReads(db),
    insertColumns: (batch) => writable().insertColumns(batch),
    insert(events) {
      const open = writable();
      checkInsert(events);
      return open.insert(events);
    },
    prune: (options) => pruneReport(options).deleted,
    pruneReport,
    sink: () => storeSink(`sqlite-store:${path}`, opened.busyTimeoutMs, writable),
    close: () => {
      try {
        writer?.stop();
      } finally {
        db.close(); // the last connection: SQLite checkpoints what is left and removes the log
      }
    },
  };
  return store;
}
