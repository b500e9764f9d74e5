import type pg from "pg";
import { toError } from "../errors/index.js";
import { LOCKS } from "./schema.js";

/**
 * What pg-pool's connection timeout (`connectionTimeoutMillis`) fails with: a new connection not
 * ready in time, or no connection of a full pool free in time. pg gives these no code.
 */
const CONNECT_TIMEOUT =
  /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/;

/** True when `error` is pg-pool's connection timeout. @internal */
export function isConnectTimeout(error: unknown): boolean {
  return error instanceof Error && CONNECT_TIMEOUT.test(error.message);
}

/**
 * Server sessions the store gave up on (a silent path) that may still be open on the server: their
 * client's close may never arrive, and a session waiting for a batch's COPY data ends neither by
 * `statement_timeout` nor by `idle_in_transaction_session_timeout`, so it would hold the writers' lock
 * until the server's TCP keepalive noticed (hours). The next bounded session ends those holding or
 * waiting for the writers' lock, once the path is back. Each is known by its process id and start
 * time, so a reused process id is never ended.
 * @internal
 */
export interface Strays {
  /** The identity of each connection's server session, learnt on its first bounded use (null: unknown). */
  readonly known: WeakMap<pg.ClientBase, Stray | null>;
  /** Sessions given up and not yet seen ended. */
  readonly left: Map<string, Stray>;
}

/** A server session: its process id and start time in µs since 1970 (as text: exact). @internal */
export interface Stray {
  pid: number;
  startedUs: string;
}

/** An empty `Strays`. @internal */
export function createStrays(): Strays {
  return { known: new WeakMap(), left: new Map() };
}

const IDENTIFY =
  "SELECT pg_backend_pid() pid, (extract(epoch FROM backend_start) * 1000000)::bigint::text started_us FROM pg_stat_get_activity(pg_backend_pid())";
/**
 * Ends the sessions given (pid and start, as $1 and $2) that hold or wait for the writers' lock: a
 * session a pooler in front of the server gave to another client since is left alone.
 */
const END_STRAYS = `SELECT pg_terminate_backend(a.pid) FROM pg_stat_get_activity(NULL) a
  WHERE (a.pid, (extract(epoch FROM a.backend_start) * 1000000)::bigint::text) IN (SELECT * FROM unnest($1::int[], $2::text[]))
  AND a.pid IN (SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = ${LOCKS.write})`;

/**
 * Ends any session (of this role: the server allows no other) that holds the writers' lock and has
 * waited for its batch's COPY data longer than twice the time its writer gives an insert up after (its
 * queryTimeoutMs, which the COPY states: see `copySql`): that writer was frozen mid-insert (SIGSTOP,
 * `docker pause`, a suspended VM) while its host still acknowledges TCP, so neither keepalive nor its
 * own limit ends it, and every writer of the fleet waits. A live writer has given up long before. A
 * COPY that states no limit (an earlier version's) is left alone. Run by a store that has just given a
 * session up, so never while writes flow.
 */
const END_FROZEN = `SELECT pg_terminate_backend(a.pid) FROM pg_stat_get_activity(NULL) a
  WHERE a.pid <> pg_backend_pid() AND a.state = 'active' AND a.wait_event = 'ClientRead'
  AND left(a.query, 5) = 'COPY ' AND a.query_start < clock_timestamp()
    - 2 * substring(a.query FROM '/\\* grpc-audit: gives up after ([0-9]{1,10}) ms \\*/$')::bigint * interval '1 millisecond'
  AND a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
    AND (classid::bigint << 32 | objid::bigint) = ${LOCKS.write})`;

/** Ends the given-up sessions still on the server, then learns `client`'s own identity if new. */
async function tidy(client: pg.ClientBase, strays: Strays): Promise<void> {
  const left = [...strays.left.values()];
  if (left.length > 0) {
    const ids = [left.map((s) => s.pid), left.map((s) => s.startedUs)];
    try {
      await client.query(END_STRAYS, ids);
      await client.query(END_FROZEN);
    } catch (error) {
      // No code: the connection failed, and the next session tries again. A server's refusal
      // (permission) would refuse every time: forgotten.
      if (typeof (error as { code?: unknown }).code !== "string") throw error;
    }
    for (const s of left) strays.left.delete(`${s.pid}/${s.startedUs}`);
  }
  if (!strays.known.has(client)) {
    try {
      const row = (await client.query<{ pid: number; started_us: string }>(IDENTIFY)).rows[0];
      strays.known.set(client, row === undefined ? null : { pid: row.pid, startedUs: row.started_us });
    } catch (error) {
      // A server that refuses it (no right on pg_stat_get_activity): this session is never ended.
      if (typeof (error as { code?: unknown }).code !== "string") throw error;
      strays.known.set(client, null);
    }
  }
}

/**
 * A bound on a session. `timeoutMs`: `work` must finish within it in all (inserts, reads). `everyMs`:
 * `work` may rightly take long (a migration, a prune), so it is not bounded by time but by silence:
 * every `everyMs`, `alive` checks on another connection that its server session is still there, and
 * resolves to why the session is lost (its server session ended, or the server did not answer the
 * check), or to undefined to go on waiting.
 * @internal
 */
export type Limit =
  | { timeoutMs: number; expired: () => Error; strays: Strays }
  | {
      everyMs: number;
      alive: (self: Stray | null) => Promise<string | undefined>;
      lost: (why: string) => Error;
      strays: Strays;
    };

/**
 * Runs `work` with a connection of the pool, given back afterwards; discarded when it failed (the
 * server ended it, or `work` reported a failure through `fail`: the connection is not known to be
 * usable), kept otherwise. Given a `limit`, when `work` has not finished within its `timeoutMs`, or a
 * check finds it lost, the connection is ended, which fails the statement waiting on it (a silent
 * network path never answers), and `session` rejects with the error the limit makes; its server
 * session is noted in `strays`, and ended by a later bounded session. Without one, `work` may take as
 * long as it takes.
 * @internal
 */
export async function session<T>(
  pool: pg.Pool,
  limit: Limit | undefined,
  work: (client: pg.PoolClient, fail: (error: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  const fail = (error: Error) => {
    failed ??= error;
  };
  // pg emits the failure of a checked-out client as an 'error' event on it, which nobody else
  // listens to while the client is out, and which would otherwise end the process.
  client.on("error", fail);
  let expired: Error | undefined;
  let finished = false;
  const giveUp = (error: Error, strays: Strays) => {
    expired = error;
    fail(error);
    const self = strays.known.get(client);
    if (self !== undefined && self !== null) strays.left.set(`${self.pid}/${self.startedUs}`, self);
    // With a statement in flight pg destroys the socket: what waits on it rejects at once.
    client.end().catch(() => {});
  };
  let timer: NodeJS.Timeout | undefined;
  if (limit !== undefined && "timeoutMs" in limit) {
    timer = setTimeout(() => giveUp(limit.expired(), limit.strays), limit.timeoutMs);
  } else if (limit !== undefined) {
    const watch = () => {
      timer = setTimeout(async () => {
        // A check never rejects by contract; were it to, the session counts as lost, never unhandled.
        const why = await limit
          .alive(limit.strays.known.get(client) ?? null)
          .catch((error: unknown) => `the check failed: ${toError(error).message}`);
        if (finished) return;
        if (why === undefined) watch();
        else giveUp(limit.lost(why), limit.strays);
      }, limit.everyMs);
    };
    watch();
  }
  try {
    if (limit !== undefined) await tidy(client, limit.strays);
    return await work(client, fail);
  } catch (error) {
    throw expired ?? error;
  } finally {
    finished = true;
    clearTimeout(timer);
    client.off("error", fail);
    client.release(failed);
  }
}
