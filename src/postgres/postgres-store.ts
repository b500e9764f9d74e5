import type pg from "pg";
import type { EncodedEvent, EventSink } from "../emitters/sink.js";
import {
  AuditConfigError,
  AuditError,
  AuditEventTooLargeError,
  AuditInputError,
  toError,
} from "../errors/index.js";
import { report } from "../errors/report.js";
import type { EventColumns } from "../event/event-columns.js";
import { encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { AuditPage } from "../store/audit-store.js";
import { checkPruneOptions, cutReport, type PruneOptions, type PruneReport } from "../store/prune-plan.js";
import { type AuditQuery, type AuditStats, checkInsert, type PageOptions } from "../store/query.js";
import type { EditedRow, UndecodableRow } from "../store/stored-rows.js";
import { connect, milliseconds, passwordExplained, scrubbed, storeError } from "./connection.js";
import { copyData } from "./copy.js";
import { batchTimes, columnsOf, DUPLICATE, insertBatch, NO_PARTITION } from "./insert.js";
import { createMonthsAhead } from "./months-ahead.js";
import {
  ensurePartitions,
  INSUFFICIENT_PRIVILEGE,
  isListed,
  LOCK_NOT_AVAILABLE,
  listPartitions,
  missingPartitions,
  type Partition,
  partitionOf,
} from "./partitions.js";
import { checkPostgresStoreOptions, type PostgresStoreOptions } from "./postgres-store-options.js";
import { applyPlan, readPlan } from "./prune.js";
import { eventIdAt, NUL_IN_TEXT, nulIdRefusal, RefusedRowsError } from "./refused-rows.js";
import { checkVersion, EVENTS_TABLE, LOCKS, migrate } from "./schema.js";
import { createStrays, isConnectTimeout, type Limit, session } from "./session.js";
import { createStoreReads } from "./store-reads.js";
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
   * Events stored after insertion position `afterSeq`, oldest first (for following new events). Default
   * limit: 500. `undecodable` and `edited` as in the SQLite store's `tail`.
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

/** The longest a partition's creation waits for the events table (`lock_timeout`); less when `queryTimeoutMs` is. */
const PARTITION_LOCK_TIMEOUT_MS = 2000;
/** The same for months made ahead, which no write waits for: they delay a batch (or opening) this long at most. */
const AHEAD_LOCK_TIMEOUT_MS = 100;
/** Tries of a batch's insert: a stored id or a partition dropped meanwhile makes it go again. */
const INSERT_TRIES = 3;

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
  /** `session`, its errors named. */
  const use = async <T>(
    bound: Limit,
    work: (client: pg.PoolClient, fail: (error: Error) => void) => Promise<T>,
  ): Promise<T> => {
    try {
      return await session(pool, bound, work);
    } catch (error) {
      throw named(error);
    }
  };
  /** The rows of one statement, within `queryTimeoutMs`. */
  const read = <R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> =>
    use(limit, async (client) => (await client.query<R>(sql, params)).rows);

  const partitions = new Set<string>();
  const refuseReadonly = () => {
    if (readonly) throw new AuditConfigError(`postgres store ${label}: opened read-only`);
  };
  // A path cut silently mid-transaction: the client gives up, but the server would keep the session,
  // and the writers' lock, until its TCP keepalive notices (hours). Its own limit ends it instead. A
  // transaction's statements follow each other at once, so no live writer is idle that long; LOCAL:
  // a caller's pool's sessions keep their settings.
  const begin = `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${queryTimeoutMs}`;
  // A prune is the store's own, bounded by its checks: a role's statement_timeout or lock_timeout
  // (meant for runaway queries) would fail a long DELETE or a wait for the writers' lock, and every
  // prune after it.
  const untimed = "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0";
  // An insert that resolved is acknowledged (to the broker, to the delivery pipeline): its COMMIT must
  // have reached the disk. With synchronous_commit = off (a server's, database's or role's, set for
  // throughput) it returns before, and a crash loses it. Every other value flushes the WAL before
  // COMMIT returns and is kept: remote_apply, say, must not be lowered to on.
  const durable =
    "SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'";
  /** Runs `work` in one transaction opened with `opening`, within `bound`. */
  const transaction = async <T>(
    bound: Limit,
    opening: string,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> =>
    use(bound, async (client, lost) => {
      try {
        await client.query(opening);
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(lost);
        throw error;
      }
    });
  /**
   * Runs `work` in one transaction holding the writers' lock, within `bound`, committed durably;
   * `prune`: without statement_timeout.
   */
  const write = async <T>(
    bound: Limit,
    work: (client: pg.PoolClient) => Promise<T>,
    prune = false,
  ): Promise<T> =>
    transaction(
      bound,
      prune ? `${begin}; ${durable}; ${untimed}` : `${begin}; ${durable}`,
      async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.write]);
        return work(client);
      },
    );
  /** Deletes every event before `beforeMs`: the partitions entirely older whole, then row by row. */
  const cutBefore = async (client: pg.PoolClient, beforeMs: number): Promise<number> => {
    let deleted = 0;
    for (const p of await listPartitions(client)) {
      if (p.toMs > beforeMs) continue;
      const table = client.escapeIdentifier(p.name); // the catalog's name, as it is
      const count = await client.query<{ n: string }>(`SELECT count(*) n FROM ${table}`);
      deleted += Number(count.rows[0]?.n ?? 0);
      await client.query(`DROP TABLE ${table}`);
      partitions.delete(p.name);
    }
    const rest = await client.query(`DELETE FROM ${EVENTS_TABLE} WHERE occurred_at_ms < $1`, [beforeMs]);
    return deleted + (rest.rowCount ?? 0);
  };
  /** Runs `work` in one REPEATABLE READ transaction that only reads: one snapshot, no lock. */
  const snapshot = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    transaction(
      watched("prune"),
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL idle_in_transaction_session_timeout = ${queryTimeoutMs}; ${untimed}`,
      work,
    );
  // Attaching a partition waits for what conflicts with it (a prune dropping months, a migration, a
  // manual VACUUM or ANALYZE of the table), and new readers and writers may queue behind the wait:
  // this long at most, then the batch fails and is retried.
  const partitionLockMs = Math.min(queryTimeoutMs, PARTITION_LOCK_TIMEOUT_MS);
  /** Creates those of `months` that are missing, in a short transaction of its own. */
  const createPartitions = (months: readonly Partition[], lockMs = partitionLockMs): Promise<void> =>
    transaction(limit, `${begin}; SET LOCAL lock_timeout = ${lockMs}`, (client) =>
      ensurePartitions(client, months, partitions),
    );
  const ahead = createMonthsAhead((months) =>
    createPartitions(months, Math.min(queryTimeoutMs, AHEAD_LOCK_TIMEOUT_MS)),
  );
  /**
   * Creates the partitions a batch needs that this process has not seen, in a short transaction of
   * its own before the batch's: never while holding the writers' lock, so writers into existing
   * months go on. Rejects (the batch is retried) when the events table stays in use too long; with a
   * RefusedRowsError when this role may not create a month that is still missing.
   */
  const makePartitions = async (needed: readonly Partition[], batch: EventColumns): Promise<void> => {
    try {
      await createPartitions(needed);
    } catch (error) {
      if ((error as { code?: string }).code === INSUFFICIENT_PRIVILEGE)
        throw await refusal(needed, batch, error);
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
      const names = needed.map((p) => p.name).join(", ");
      throw new Error(
        `postgres store ${label}: partition ${names} not created: the events table stayed locked by another transaction (a prune dropping months, a migration) for ${partitionLockMs} ms`,
        { cause: error },
      );
    }
  };
  /**
   * The refusal of the batch's rows whose month this role could not create (`denied`) and that is
   * still missing: no retry stores them, and retrying the batch would hold up every batch after it.
   * `denied` itself when the owner made them all meanwhile (the batch's retry then goes in).
   */
  const refusal = async (
    needed: readonly Partition[],
    batch: EventColumns,
    denied: unknown,
  ): Promise<unknown> => {
    const listed = await use(limit, (client) => listPartitions(client));
    const missing = new Set(needed.filter((p) => !isListed(listed, p)).map((p) => p.name));
    if (missing.size === 0) return denied;
    const eventIds: string[] = [];
    for (let i = 0; i < batch.length; i++)
      if (missing.has(partitionOf(batch.times[i] as number).name)) eventIds.push(eventIdAt(batch, i));
    return new RefusedRowsError(
      `postgres store ${label}: partition ${[...missing].join(", ")} not created: ${unnamed(denied)} (a role that may not create partitions writes only into months made for it)`,
      { code: INSUFFICIENT_PRIVILEGE, eventIds, cause: denied },
    );
  };
  /** The error of a batch whose rows found no partition on every try. */
  const partitionLost = (batch: EventColumns, error: unknown): Error => {
    const months = missingPartitions(batchTimes(batch), new Set()).map((p) => p.name);
    return new Error(
      `postgres store ${label}: a row of the batch found no partition (months ${months.join(", ")}) on ${INSERT_TRIES} tries, each after its month was made again or found in the catalog: another process dropped it meanwhile (a prune of old months); nothing of the batch was stored`,
      { cause: error },
    );
  };
  /** COPY data of batches prepared ahead of their insert (`prepareColumns`). */
  const prepared = new WeakMap<EventColumns, Buffer>();
  const insertColumns = async (batch: EventColumns): Promise<number> => {
    refuseReadonly();
    if (batch.length === 0) return 0;
    const nul = nulIdRefusal(batch, label);
    if (nul !== undefined) throw nul;
    // Encoded before the transaction: the writers' lock is not held meanwhile.
    let copy: Buffer | undefined = prepared.get(batch) ?? copyData(batch);
    prepared.delete(batch);
    for (let attempt = 1; ; attempt++) {
      try {
        // Checked before any await: a batch into known months asks for its connection at once.
        const times = batchTimes(batch);
        const needed = missingPartitions(times, partitions);
        const due = ahead.due(times);
        if (needed.length > 0) await makePartitions(needed, batch);
        if (due.length > 0) await ahead.follow(due);
        return await write(limit, (client) => insertBatch(client, batch, copy));
      } catch (error) {
        // A stored id (a redelivered batch): again, skipping those. A partition missing (another
        // process pruned one this one knew): again, creating it; forget them all.
        const code = (error as { code?: string }).code;
        if (code !== DUPLICATE && code !== NO_PARTITION) throw error;
        if (attempt === INSERT_TRIES) throw code === NO_PARTITION ? partitionLost(batch, error) : error;
        if (code === DUPLICATE) copy = undefined;
        partitions.clear();
      }
    }
  };
  const reads = createStoreReads(read);
  /**
   * The sink's insert. Events whose id holds U+0000 are named to the delivery pipeline, which drops
   * and counts them (as "too_large", with this message) and writes the rest at once: no retry stores
   * them. A month this role may not create fails the batch, to be retried (or spooled) until the
   * owning role makes it: a Recorder's events are of the current month, which a store of that role
   * makes ahead, when it opens and when it first writes into the month before (`createMonthsAhead`).
   */
  const sinkInsert = async (batch: EventColumns): Promise<void> => {
    try {
      await insertColumns(batch);
    } catch (error) {
      if (!(error instanceof RefusedRowsError) || error.code !== NUL_IN_TEXT) throw error;
      const reason = error.message.replace(`postgres store ${label}: `, "");
      throw new AuditEventTooLargeError(`postgres-store:${label}`, reason, {
        eventIds: error.eventIds,
        cause: error,
      });
    }
  };

  const store: PostgresStore = {
    name: label,
    insert: async (events) => insertColumns(checkedColumns(events)),
    insertEncoded: async (events) => insertColumns(checkedEncodedColumns(events)),
    insertColumns,
    prepareColumns: (batch) => {
      if (batch.length > 0 && !readonly) prepared.set(batch, copyData(batch));
    },
    ...reads,
    prune: async (options) => (await store.pruneReport(options)).deleted,
    async pruneReport(options) {
      checkPruneOptions(options, "postgres store");
      const beforeMs = options.before.getTime();
      if (options.dryRun === true && options.cutChains === true) {
        // A count over a big store's old months may take long, as the prune it stands for.
        const rows = await snapshot(
          async (client) =>
            (
              await client.query<{ n: string }>(
                `SELECT count(*) n FROM ${EVENTS_TABLE} WHERE occurred_at_ms < $1`,
                [beforeMs],
              )
            ).rows,
        );
        return cutReport(Number(rows[0]?.n ?? 0));
      }
      if (options.dryRun !== true) refuseReadonly();
      if (options.cutChains === true) {
        // Not bounded by time: dropping and deleting a big store's old months may take long.
        return write(watched("prune"), async (client) => cutReport(await cutBefore(client, beforeMs)), true);
      }
      // Not bounded by time, as is what follows: the plan reads every row, without the writers' lock.
      const planned = await snapshot((client) => readPlan(client, beforeMs));
      if (options.dryRun === true) return planned.plan.finish().report;
      // Under the lock: the rows stored meanwhile, then the deletes, in one transaction.
      return write(
        watched("prune"),
        (client) => applyPlan(client, planned, beforeMs, (name) => partitions.delete(name)),
        true,
      );
    },
    sink: () => ({
      name: `postgres-store:${label}`,
      write: async (batch) => sinkInsert(checkedColumns(batch)),
      writeEncoded: async (batch: readonly EncodedEvent[]) => sinkInsert(columnsOf(batch)),
    }),
    close: async () => {
      if (owned) await pool.end();
    },
  };
  // This month and the next, for the writers that may not create them (see `createMonthsAhead`).
  if (!readonly) {
    try {
      await ahead.follow([partitionOf(Date.now())]);
    } catch (error) {
      await abandon();
      throw fail(error);
    }
  }
  return store;
}

/** Events given with their bytes (their events checked as `insert` checks events), in the stored columns. */
function checkedEncodedColumns(events: readonly EncodedEvent[]): EventColumns {
  const eventOf = (encoded: EncodedEvent) =>
    typeof encoded === "object" && encoded !== null ? encoded.event : encoded;
  checkInsert(Array.isArray(events) ? events.map(eventOf) : events);
  for (let i = 0; i < events.length; i++) {
    if (!((events[i] as EncodedEvent).bytes instanceof Uint8Array))
      throw new AuditInputError(`audit store insert: events[${i}].bytes must be a Uint8Array`);
  }
  return columnsOf(events);
}

/** Events given as objects (checked as `insert` takes them), in the stored columns. */
function checkedColumns(events: readonly AuditEvent[]): EventColumns {
  checkInsert(events);
  return columnsOf(events.map((event) => ({ event, bytes: encodeEvent(event) })));
}
