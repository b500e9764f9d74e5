import type pg from "pg";

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
 * Runs `work` with a connection of the pool, given back afterwards; discarded when it failed (the
 * server ended it, or `work` reported a failure through `fail`: the connection is not known to be
 * usable), kept otherwise. Given a `limit`, when `work` has not finished within its `timeoutMs` the
 * connection is ended, which fails the statement waiting on it (a silent network path never
 * answers), and `session` rejects with the error `expired()` makes. Without one, `work` may take as
 * long as it takes.
 * @internal
 */
export async function session<T>(
  pool: pg.Pool,
  limit: { timeoutMs: number; expired: () => Error } | undefined,
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
  const timer =
    limit === undefined
      ? undefined
      : setTimeout(() => {
          expired = limit.expired();
          fail(expired);
          // With a statement in flight pg destroys the socket: what waits on it rejects at once.
          client.end().catch(() => {});
        }, limit.timeoutMs);
  try {
    return await work(client, fail);
  } catch (error) {
    throw expired ?? error;
  } finally {
    clearTimeout(timer);
    client.off("error", fail);
    client.release(failed);
  }
}
