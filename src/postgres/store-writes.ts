// The PostgreSQL store's writes: inserts (the partitions they need, retries, refused rows), its sink, prunes.
import type pg from "pg";
import type { EncodedEvent, EventSink } from "../emitters/sink.js";
import { AuditConfigError, AuditEventRefusedError, AuditInputError } from "../errors/index.js";
import type { EventColumns } from "../event/event-columns.js";
import { encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { checkPruneOptions, cutReport, type PruneOptions, type PruneReport } from "../store/prune-plan.js";
import { checkInsert } from "../store/query.js";
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
import { applyPlan, readPlan } from "./prune.js";
import { eventIdAt, NUL_IN_TEXT, nulIdRefusal, RefusedRowsError } from "./refused-rows.js";
import { EVENTS_TABLE } from "./schema.js";
import type { Limit } from "./session.js";
import type { StoreTransactions } from "./store-transactions.js";

/** The longest a partition's creation waits for the events table (`lock_timeout`); less when `queryTimeoutMs` is. */
const PARTITION_LOCK_TIMEOUT_MS = 2000;
/** The same for months made ahead, which no write waits for: they delay a batch (or opening) this long at most. */
const AHEAD_LOCK_TIMEOUT_MS = 100;
/** Tries of a batch's insert: a stored id or a partition dropped meanwhile makes it go again. */
const INSERT_TRIES = 3;

/** What the store's writes are named, bounded and allowed by. @internal */
export interface StoreWritesOptions {
  /** The store's name, put first in its errors' messages. */
  label: string;
  /** True when the store was opened read-only: every write is refused. */
  readonly: boolean;
  /** The store's `queryTimeoutMs`. */
  queryTimeoutMs: number;
  /** The bound of a statement or a short transaction: `queryTimeoutMs`. */
  limit: Limit;
  /** The limit of work that may rightly take long (a prune), checked that it is not lost. */
  watched: (operation: string) => Limit;
  /** An error's words without the store's name. */
  unnamed: (error: unknown) => string;
}

/**
 * The PostgreSQL store's writes (`insert`, `insertEncoded`, `insertColumns`, `prepareColumns`,
 * `pruneReport`, `sink`), run by `transactions`, and `ahead`, the months it makes ahead. @internal
 */
export function createStoreWrites(
  { use, begin, transaction, write, snapshot }: StoreTransactions,
  { label, readonly, queryTimeoutMs, limit, watched, unnamed }: StoreWritesOptions,
) {
  const partitions = new Set<string>();
  const refuseReadonly = () => {
    if (readonly) throw new AuditConfigError(`postgres store ${label}: opened read-only`);
  };
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
        return await write(limit, (client) => insertBatch(client, batch, copy, queryTimeoutMs));
      } catch (error) {
        // Another event under a stored key (see `insertBatch`): no retry stores it.
        if (error instanceof RefusedRowsError && error.code === DUPLICATE) {
          const { code, eventIds } = error;
          throw new RefusedRowsError(`postgres store ${label}: ${error.message}`, { code, eventIds });
        }
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
  /**
   * The sink's insert. Events whose id holds U+0000, or whose id and time are stored for another
   * event, are named to the delivery pipeline, which drops and counts them (as "refused", with this
   * message) and writes the rest at once: no retry stores them. A month this role may not create
   * fails the batch, to be retried (or spooled) until the owning role makes it: a Recorder's events
   * are of the current month, which a store of that role makes ahead, when it opens and when it first
   * writes into the month before (`createMonthsAhead`).
   */
  const sinkInsert = async (batch: EventColumns): Promise<void> => {
    try {
      await insertColumns(batch);
    } catch (error) {
      if (!(error instanceof RefusedRowsError) || (error.code !== NUL_IN_TEXT && error.code !== DUPLICATE))
        throw error;
      const reason = error.message.replace(`postgres store ${label}: `, "");
      throw new AuditEventRefusedError(`postgres-store:${label}`, reason, {
        eventIds: error.eventIds,
        cause: error,
      });
    }
  };

  return {
    ahead,
    insert: async (events: readonly AuditEvent[]) => insertColumns(checkedColumns(events)),
    insertEncoded: async (events: readonly EncodedEvent[]) => insertColumns(checkedEncodedColumns(events)),
    insertColumns,
    prepareColumns: (batch: EventColumns) => {
      if (batch.length > 0 && !readonly) prepared.set(batch, copyData(batch));
    },
    async pruneReport(options: PruneOptions): Promise<PruneReport> {
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
    sink: (): EventSink => ({
      name: `postgres-store:${label}`,
      write: async (batch) => sinkInsert(checkedColumns(batch)),
      writeEncoded: async (batch: readonly EncodedEvent[]) => sinkInsert(columnsOf(batch)),
    }),
  };
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
