// How the PostgreSQL store runs its work: sessions with their errors named, statements, transactions.
import type pg from "pg";
import { LOCKS } from "./schema.js";
import { type Limit, session } from "./session.js";

/** What the store's sessions and transactions are bounded and named by. @internal */
export interface StoreTransactionsOptions {
  /** The bound of a statement or a short transaction: `queryTimeoutMs`. */
  limit: Limit;
  /** The limit of work that may rightly take long (a prune), checked that it is not lost. */
  watched: (operation: string) => Limit;
  /** An error of pg or of the network, named. */
  named: (failure: unknown) => unknown;
  /** The store's `queryTimeoutMs`. */
  queryTimeoutMs: number;
}

/**
 * The PostgreSQL store's sessions (`use`, `read`) and transactions (`transaction`, `write`,
 * `snapshot`) on connections of `pool`. @internal
 */
export function createStoreTransactions(
  pool: pg.Pool,
  { limit, watched, named, queryTimeoutMs }: StoreTransactionsOptions,
) {
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
  /** Runs `work` in one REPEATABLE READ transaction that only reads: one snapshot, no lock. */
  const snapshot = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    transaction(
      watched("prune"),
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL idle_in_transaction_session_timeout = ${queryTimeoutMs}; ${untimed}`,
      work,
    );
  return { use, read, begin, transaction, write, snapshot };
}

/** The store's sessions and transactions (`createStoreTransactions`). @internal */
export type StoreTransactions = ReturnType<typeof createStoreTransactions>;
