import type pg from "pg";
import { toError } from "../errors/index.js";
import { isConnectTimeout, type Limit, type Stray, type Strays, session } from "./session.js";

/** One row while the server session (pid, start in µs as text) is still there. */
const ALIVE = `SELECT 1 FROM pg_stat_get_activity($1) a
  WHERE (extract(epoch FROM a.backend_start) * 1000000)::bigint::text = $2`;

/**
 * The limit of work that may rightly take long (a migration, a prune): no bound on time, but every
 * `everyMs` a check on another connection of the pool that the work's server session still exists.
 * The work is lost when that session has ended (the server ended it, e.g. left idle in its
 * transaction past `idle_in_transaction_session_timeout` after a reply that never arrived), or when
 * the server does not answer the check: no connection within `connectTimeoutMs` (or `everyMs` when
 * the pool has no such limit), no reply within `everyMs`. A server that answers with an error (too
 * many connections) is not a lost session: the next check tries again. So is a full pool, whose
 * check would wait for the work's own connection. A session whose identity is unknown is only
 * checked for the server's answer.
 * @internal
 */
export function watchLimit(
  pool: pg.Pool,
  options: { everyMs: number; connectTimeoutMs: number; strays: Strays; lost: (why: string) => Error },
): Limit {
  const { everyMs, connectTimeoutMs, strays } = options;
  const noReply = new Error("no reply");
  const check: Limit = { timeoutMs: everyMs, expired: () => noReply, strays };
  const connectMs = connectTimeoutMs > 0 ? connectTimeoutMs : everyMs;
  const alive = async (self: Stray | null): Promise<string | undefined> => {
    if (pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? 10)) return undefined;
    let timer: NodeJS.Timeout | undefined;
    // A caller's pool may wait for a connection without limit: the check does not.
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`the server did not answer a check within ${connectMs + everyMs} ms`),
        connectMs + everyMs,
      );
    });
    try {
      return await Promise.race([late, ask(self)]);
    } finally {
      clearTimeout(timer);
    }
  };
  const ask = async (self: Stray | null): Promise<string | undefined> => {
    try {
      const found = await session(pool, check, (client) =>
        self === null ? client.query("SELECT 1") : client.query(ALIVE, [self.pid, self.startedUs]),
      );
      return found.rowCount === 0 ? "its server session has ended" : undefined;
    } catch (error) {
      if (error === noReply) return `the server did not answer a check within ${everyMs} ms (queryTimeoutMs)`;
      if (isConnectTimeout(error))
        return `no connection for a check within ${connectTimeoutMs} ms (connectTimeoutMs)`;
      // The server answered, refusing: it is there, so the work may be too.
      if (typeof (error as { code?: unknown }).code === "string") return undefined;
      return `the check failed: ${toError(error).message}`;
    }
  };
  return { everyMs, alive, lost: options.lost, strays };
}
