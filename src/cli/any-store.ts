import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { AuditPage, AuditStore } from "../store/audit-store.js";
import type { PruneOptions, PruneReport } from "../store/prune-plan.js";
import type { AuditQuery, AuditStats, PageOptions } from "../store/query.js";
import type { UndecodableRow } from "../store/stored-rows.js";
import { toCliError } from "./errors.js";
import { loadOptionalPeers } from "./optional-peers.js";
import { withStore } from "./store-access.js";
import { withoutCredentials } from "./without-credentials.js";

/**
 * What `query`, `stats`, `tail` and `prune` use of a store: the SQLite store (wrapped) or the
 * PostgreSQL one, asynchronously. `name` is the file, or the URL without its password.
 */
export interface CliStore {
  readonly name: string;
  query(filter: AuditQuery, page: PageOptions): Promise<AuditPage>;
  tail(
    afterSeq: number,
    limit?: number,
  ): Promise<{ events: AuditEvent[]; lastSeq: number; undecodable?: UndecodableRow[] }>;
  lastSeq(): Promise<number>;
  stats(filter: AuditQuery): Promise<AuditStats>;
  pruneReport(options: PruneOptions): Promise<PruneReport>;
}

/** True when `--db` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * Runs `use` with the store `db` names open — a `postgres://` URL or a SQLite file that must exist —
 * and closes it afterwards; every error becomes a CliError that never repeats a password.
 */
export async function withAnyStore<T>(
  db: string,
  options: { readonly: boolean },
  use: (store: CliStore) => Promise<T>,
): Promise<T> {
  if (!isPostgresUrl(db)) return withStore(db, options, (store) => use(asCliStore(store)));
  const { openPostgresStore } = await loadPostgresModule();
  const open = (readonly: boolean) =>
    openPostgresStore({
      connectionString: db,
      readonly,
      poolSize: 2,
      // A connection of the pool lost while idle (a restart): the next read connects again.
      onError: (error) => process.stderr.write(`error: ${error.message}\n`),
    });
  let store: Awaited<ReturnType<typeof openPostgresStore>>;
  try {
    // Opened writable (prune), the store would create its schema in a database without one: read-only
    // first, which refuses anything but an audit store and changes nothing, as for a SQLite file.
    if (!options.readonly) await (await open(true)).close();
    store = await open(options.readonly);
  } catch (error) {
    throw toCliError(error, "");
  }
  try {
    return await use(store);
  } catch (error) {
    throw toCliError(error, store.name);
  } finally {
    await store.close();
  }
}

function asCliStore(store: AuditStore): CliStore {
  return {
    name: withoutCredentials(store.path),
    query: async (filter, page) => store.query(filter, page),
    tail: async (afterSeq, limit) => store.tail(afterSeq, limit),
    lastSeq: async () => store.lastSeq(),
    stats: async (filter) => store.stats(filter),
    pruneReport: async (options) => store.pruneReport(options),
  };
}

/** The PostgreSQL store module, loaded on first use: pg is an optional peer dependency. */
async function loadPostgresModule(): Promise<typeof import("../postgres/index.js")> {
  return loadOptionalPeers(() => import("../postgres/index.js"), "the PostgreSQL store", ["pg"]);
}
