import type { EncodedEvent, EventSink } from "../emitters/sink.js";
import { AuditConfigError, AuditError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";
import type { EventColumns } from "../event/event-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { AuditPage } from "../store/audit-store.js";
import type { PruneOptions, PruneReport } from "../store/prune-plan.js";
import type { AuditQuery, AuditStats, PageOptions } from "../store/query.js";
import type { EditedRow, UndecodableRow } from "../store/stored-rows.js";
import { connect, milliseconds, passwordExplained, scrubbed, storeError } from "./connection.js";
import { partitionOf } from "./partitions.js";
import { checkPostgresStoreOptions, type PostgresStoreOptions } from "./postgres-store-options.js";
import { checkVersion, migrate } from "./schema.js";
import { createStrays, isConnectTimeout, type Limit, session } from "./session.js";
import { createStoreReads } from "./store-reads.js";
import { createStoreTransactions } from "./store-transactions.js";
import { createStoreWrites } from "./store-writes.js";
import { watchLimit } from "./watch.js";

export type { PostgresStoreOptions } from "./postgres-store-options.js";

/**
 * The PostgreSQL audit store: the SQLite store's capabilities (`AuditStore`), asynchronous, on a
 * server many processes share. Events are kept in a table partitioned by month of their time, keyed
 * by event id, indexed by time, actor, target, request id and trace id.
 */
export interface PostgresStore {
  /** The server and database, without password: `postgres://user@host:5432/db`. */
  readonly name: string;
  /**
   * Stores events; an event already stored (same id and time) is skipped. Resolves to how many were
   * new. Rejects, storing none, when some can never be stored here: an id holding U+0000, or a month
   * without a partition that this role may not create.
   */
  insert(events: readonly AuditEvent[]): Promise<number>;
  /**
   * The same as `insert`, given each event with its protobuf bytes (as a broker carried them), which
   * are stored as they are instead of encoding the event again. Resolves to how many were new.
   */
  insertEncoded(events: readonly EncodedEvent[]): Promise<number>;
  /**
   * The same as `insert`, given a batch already in the stored columns, as an ingester reads them from
   * the broker's bytes. Resolves to how many were new.
   * @internal
   */
  insertColumns(batch: EventColumns): Promise<number>;
  /**
   * Encodes a batch for `insertColumns` ahead of its insert (an ingester calls it while the batch
   * before is inserted); the batch must not change afterwards.
   * @internal
   */
  prepareColumns(batch: EventColumns): void;
  /**
   * Events matching `filter`, newest first, cut into pages by a cursor on (time, insertion order):
   * paging visits every event that existed when it started exactly once, even while inserts continue.
   * A row at a position above 2^53 - 1 is left out, as in the SQLite store.
   */
  query(filter?: AuditQuery, page?: PageOptions): Promise<AuditPage>;
  /**
   * Events stored after insertion position `afterSeq`, oldest first (for following new events).
   * `limit`: 1 to 1000. Default: 500. A page ends after every row at its last position, so it holds
   * more when rows share one (`seq` is no unique key: rows put in from outside may). `undecodable` and
   * `edited` as in the SQLite store's `tail`.
   */
  tail(
    afterSeq: number,
    limit?: number,
  ): Promise<{ events: AuditEvent[]; lastSeq: number; undecodable?: UndecodableRow[]; edited?: EditedRow[] }>;
  /** Insertion position of the newest event (0 when empty). */
  lastSeq(): Promise<number>;
  /** Counts by type, result, decision, top operations and hour, for the events matching `filter`. */
  stats(filter?: AuditQuery): Promise<AuditStats>;
  /**
   * Deletes events that occurred before `before`, keeping each chain verifiable as the SQLite store's
   * `pruneReport` does; resolves to how many. With `dryRun`, deletes nothing and counts.
   */
  prune(options: PruneOptions): Promise<number>;
  /**
   * Deletes events that occurred before `before`, as the SQLite store's `pruneReport` does (a chain
   * keeps the signed checkpoint it then starts from), and says which older events it kept and why. It
   * plans from one snapshot without the writers' lock (inserts go on), then deletes in one transaction
   * under it: rows stored meanwhile are never deleted by it, and each ends its chain's prefix as a newer
   * event does. A monthly partition entirely older than `before` whose every row is planned is dropped
   * whole, as is one left empty; with `cutChains`, those entirely older are dropped whole and the rest
   * deleted row by row, all under the lock.
   */
  pruneReport(options: PruneOptions): Promise<PruneReport>;
  /** The store as a sink for the delivery pipeline (`createDeliveryEmitter`). */
  sink(): EventSink;
  /** Ends the pool the store made (a `pool` of the caller's stays open). */
  close(): Promise<void>;
}

/**
 * Opens the PostgreSQL audit store, creating or migrating its tables unless `readonly`; then, when its
 * role may, makes the current and the next month's partitions, for writers that may not. Rejects with
 * an AuditConfigError for bad options, a server it cannot reach, or a database written by a newer
 * version of this library; no error repeats the connection string's password.
 *
 * ```ts
 * const store = await openPostgresStore({ connectionString: "postgres://audit@db:5432/audit" });
 * const { events } = await store.query({ actorId: "alice" });
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  checkPostgresStoreOptions(options);
  const signal = options.signal;
  const readonly = options.readonly ?? false;
  const queryTimeoutMs = milliseconds(options.queryTimeoutMs, "queryTimeoutMs", 30_000);
  signal?.throwIfAborted();
  const { pool, label, owned, connectTimeoutMs, destroy, abandon } = connect(options, (error) =>
    report(options.onError, new Error(`postgres store ${label}: ${error.message}`, { cause: error })),
  );
  /** An error of pg or of the network, named; pg-pool's connection timeout says how long too. */
  const named = (failure: unknown): unknown => {
    const error = passwordExplained(failure);
    if (isConnectTimeout(error))
      return new Error(
        `postgres store ${label}: no connection within ${connectTimeoutMs} ms (connectTimeoutMs)`,
      );
    return error instanceof Error && !(error instanceof AuditError)
      ? storeError(error, label, options.connectionString)
      : error;
  };
  /** An error's words without the store's name that `named` put first: for a message naming it once. */
  const unnamed = (error: unknown): string => toError(error).message.replace(`postgres store ${label}: `, "");
  const fail = (failure: unknown): AuditConfigError => {
    const error = passwordExplained(failure);
    if (error instanceof Error && error.message.startsWith(`postgres store ${label}: `))
      return new AuditConfigError(error.message, { cause: error });
    if (error instanceof AuditConfigError)
      return new AuditConfigError(error.message.replace("postgres store", `postgres store ${label}`));
    if (isConnectTimeout(error)) return new AuditConfigError((named(error) as Error).message);
    const message =
      error instanceof Error ? scrubbed(error, options.connectionString).message : String(error);
    return new AuditConfigError(`postgres store ${label}: ${message}`);
  };
  const strays = createStrays();
  const limit: Limit = {
    timeoutMs: queryTimeoutMs,
    expired: () =>
      new Error(`postgres store ${label}: no reply within ${queryTimeoutMs} ms (queryTimeoutMs)`),
    strays,
  };
  /** The limit of work that may rightly take long: checked every `queryTimeoutMs` that it is not lost. */
  const watched = (operation: string): Limit =>
    watchLimit(pool, {
      everyMs: queryTimeoutMs,
      connectTimeoutMs,
      strays,
      lost: (why) =>
        new Error(
          `postgres store ${label}: ${operation} gave up: ${scrubbed(new Error(why), options.connectionString).message}`,
        ),
    });
  // What the opening waits on (a connection, the schema's statements) then fails at once.
  signal?.addEventListener("abort", destroy, { once: true });
  try {
    await session(pool, readonly ? limit : watched("schema migration"), async (client, lost) => {
      signal?.throwIfAborted(); // a caller's pool connected after the abort
      try {
        if (readonly) await checkVersion(client);
        else await migrate(client, queryTimeoutMs);
      } catch (error) {
        lost(toError(error));
        throw error;
      }
    });
  } catch (error) {
    await abandon();
    throw signal?.aborted ? signal.reason : fail(error);
  } finally {
    signal?.removeEventListener("abort", destroy);
  }
  const transactions = createStoreTransactions(pool, { limit, watched, named, queryTimeoutMs });
  const writes = createStoreWrites(transactions, {
    label,
    readonly,
    queryTimeoutMs,
    limit,
    watched,
    unnamed,
  });
  const reads = createStoreReads(transactions.read);

  const store: PostgresStore = {
    name: label,
    insert: writes.insert,
    insertEncoded: writes.insertEncoded,
    insertColumns: writes.insertColumns,
    prepareColumns: writes.prepareColumns,
    ...reads,
    prune: async (options) => (await store.pruneReport(options)).deleted,
    pruneReport: writes.pruneReport,
    sink: writes.sink,
    close: async () => {
      if (owned) await pool.end();
    },
  };
  // This month and the next, for the writers that may not create them (see `createMonthsAhead`).
  if (!readonly) {
    try {
      await writes.ahead.follow([partitionOf(Date.now())]);
    } catch (error) {
      await abandon();
      throw fail(error);
    }
  }
  return store;
}
