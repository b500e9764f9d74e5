import type pg from "pg";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";

/** The option names of `PostgresStoreOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  connectionString: 1,
  pool: 1,
  poolSize: 1,
  connectTimeoutMs: 1,
  queryTimeoutMs: 1,
  readonly: 1,
  signal: 1,
  onError: 1,
} satisfies Record<keyof PostgresStoreOptions, 1>);

/** Options of `openPostgresStore`: where to connect (exactly one of the two), and how. */
export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:5432/db`; the store makes its own pool and ends it on `close()`.
   * Default: none (give this or `pool`).
   */
  connectionString?: string;
  /**
   * A pool of the caller's; the store uses it and leaves it open on `close()`. Give it `keepAlive: true`
   * (pg's default is off), as the pool the store makes has, so that the OS finds a connection whose
   * network path went silent. Default: none (give this or `connectionString`).
   */
  pool?: pg.Pool;
  /** Connections of the pool the store makes from `connectionString`. Default: 4. */
  poolSize?: number;
  /**
   * Of the pool made from `connectionString` (pg's `connectionTimeoutMillis`): how long a new
   * connection may take to be ready, and a query may wait for a free connection, before it fails (a
   * server that does not answer, a network path that drops packets). Default: 10000 ms.
   */
  connectTimeoutMs?: number;
  /**
   * How long an insert (its whole transaction, waiting for other writers included) or a read (`query`,
   * `tail`, `lastSeq`, each statement of `stats`, a read-only opening) may take before it fails; its
   * connection is then closed, so the server rolls back what it did not commit. The schema's creation
   * or migration and `prune`, which may rightly take long on a big store, are bounded by silence
   * instead: every `queryTimeoutMs` the store checks on another connection of its pool that their
   * server session is still there, and gives them up (closing their connection) when it has ended or
   * the server does not answer the check. Also the server's limit on an insert's, a prune's or a
   * migration's transaction left idle between two statements (`idle_in_transaction_session_timeout`,
   * set for those transactions only): one cut off silently gives its locks back that long after its
   * last statement. A session given up while the server still runs it (a batch's COPY waiting
   * for data that was lost) is ended by the store's next insert or read once the path is back, when
   * it holds or waits for the writers' lock. Default: 30000 ms.
   */
  queryTimeoutMs?: number;
  /**
   * Open for reading only (the CLI's query, stats, tail, verify and ui): the schema is checked, never
   * created or migrated, no partition is made ahead, and `insert` and `prune` throw. Default: false.
   */
  readonly?: boolean;
  /**
   * Aborts the opening (a process told to stop): `openPostgresStore` then rejects with the signal's
   * `reason`. The pool made from `connectionString` is ended at once, the connection it was making
   * closed; with a caller's `pool`, the opening stops once its connection is made or fails. No effect
   * once the store is open. Default: none.
   */
  signal?: AbortSignal;
  /**
   * Called when an idle connection of the pool made from `connectionString` fails (the server
   * restarted, or ended it), with an error naming the store; the next query connects again. Default: ignore.
   */
  onError?: (error: Error) => void;
}

/** Checks the options of `openPostgresStore`; throws an AuditConfigError naming the bad one. @internal */
export function checkPostgresStoreOptions(options: PostgresStoreOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("postgres store: options must be an object");
  }
  rejectUnknownOptions("postgres store", options, OPTION_NAMES);
  if (options.readonly !== undefined && typeof options.readonly !== "boolean") {
    throw new AuditConfigError("postgres store: `readonly` must be a boolean");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new AuditConfigError("postgres store: `onError` must be a function");
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new AuditConfigError("postgres store: `signal` must be an AbortSignal");
  }
}
