import net from "node:net";
import pg from "pg";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import { explicitSslMode, redact, scrubbed, storeError, urlProblem } from "./connection-string.js";

// The store takes them from here, with the pool.
export { scrubbed, storeError };

/** What the store connects through: a pool it made (and ends on close) or the caller's. @internal */
export interface Connection {
  pool: pg.Pool;
  /** The server and database, without user password: for names and errors. */
  label: string;
  /** True when the store made the pool, so `close()` ends it. */
  owned: boolean;
  /** The pool's wait for a connection, in ms (a caller's pool: its `connectionTimeoutMillis`; 0 for none). */
  connectTimeoutMs: number;
  /** Destroys the sockets of the pool the store made, those still connecting too; nothing for a caller's pool. */
  destroy: () => void;
  /**
   * Ends the pool the store made, then closes the sockets it left: pg keeps the socket of a connection
   * that failed on the client's side (no password for a SCRAM server) and pg-pool forgets it, so the
   * server would hold it until its authentication timeout (60 s), and the process with it. Resolves
   * once they are closed, never rejects; nothing for a caller's pool.
   */
  abandon: () => Promise<void>;
}

/**
 * Checks the connection options and makes the pool. A connection string is validated here so that no
 * error, including pg's own parse errors, ever repeats it (it may hold a password).
 * @internal
 */
export function connect(
  options: { connectionString?: unknown; pool?: unknown; poolSize?: unknown; connectTimeoutMs?: unknown },
  onError: (error: Error) => void,
): Connection {
  const given = [options.connectionString, options.pool].filter((o) => o !== undefined).length;
  if (given !== 1) {
    throw new AuditConfigError("postgres store: give exactly one of `connectionString` or `pool`");
  }
  if (options.pool !== undefined) {
    // Duck-typed: a pool from another copy of pg is as good, and instanceof would refuse it.
    const pool = options.pool as Partial<pg.Pool>;
    if (
      typeof pool.connect !== "function" ||
      typeof pool.query !== "function" ||
      typeof pool.options !== "object"
    ) {
      throw new AuditConfigError("postgres store: `pool` must be a pg.Pool");
    }
    const { connectionString, host, port, database, connectionTimeoutMillis } = (options.pool as pg.Pool)
      .options;
    const label =
      (typeof connectionString === "string" ? redact(connectionString) : undefined) ??
      `postgres://${host ?? "localhost"}:${port ?? 5432}/${database ?? ""}`;
    return {
      pool: options.pool as pg.Pool,
      label,
      owned: false,
      connectTimeoutMs: connectionTimeoutMillis ?? 0,
      destroy: () => {},
      abandon: async () => {},
    };
  }
  const poolSize = options.poolSize ?? 4;
  if (!Number.isInteger(poolSize) || (poolSize as number) < 1) {
    throw new AuditConfigError("postgres store: `poolSize` must be a positive integer");
  }
  const connectTimeoutMs = milliseconds(options.connectTimeoutMs, "connectTimeoutMs", 10_000);
  const connectionString = options.connectionString;
  const label = typeof connectionString === "string" ? redact(connectionString) : undefined;
  if (typeof connectionString === "string") {
    const problem = urlProblem(connectionString);
    if (problem !== undefined) throw new AuditConfigError(`postgres store: \`connectionString\` ${problem}`);
  }
  if (typeof connectionString !== "string" || label === undefined) {
    throw new AuditConfigError(
      "postgres store: `connectionString` must be a postgres:// or postgresql:// URL (postgres://user@host:5432/db)",
    );
  }
  // pg's own sockets, kept: ending the pool waits for a connection still being made (up to
  // connectTimeoutMs), and pg-pool gives no way to end one.
  const sockets = new Set<net.Socket>();
  const stream = () => {
    const socket = new net.Socket();
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    return socket;
  };
  // connectionTimeoutMillis bounds both a new connection and the wait for a free one of a full pool.
  // keepAlive: pg sets it on the factory's socket once connected (connection.js), so the OS finds a
  // connection whose path went silent while it waited for a reply (no data of its own unacknowledged).
  const pool = new pg.Pool({
    connectionString: explicitSslMode(connectionString),
    max: poolSize as number,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    stream,
  });
  // An idle connection the server ends (restart, network) is reported, not an uncaught 'error' event.
  pool.on("error", (error) => onError(scrubbed(error, connectionString)));
  const destroy = () => {
    for (const socket of sockets) socket.destroy();
  };
  const abandon = async () => {
    await pool.end().catch(() => {});
    // Resolved once each is closed, so that nothing of the store is left when the opening rejects.
    const closing = [...sockets].map((socket) => new Promise((resolve) => socket.once("close", resolve)));
    destroy();
    await Promise.all(closing);
  };
  return { pool, label, owned: true, connectTimeoutMs, destroy, abandon };
}

/**
 * pg's own error when a SCRAM server asks for a password and it has none (not in the URL, nor in
 * PGPASSWORD or ~/.pgpass): the words say neither.
 */
const NO_PASSWORD = /^SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a (?:non-empty )?string$/;

/**
 * `error`, or, when it is pg's for a password the server asked for and was not given, an error saying
 * so (pg's its cause). It shows no password: there is none.
 * @internal
 */
export function passwordExplained(error: unknown): unknown {
  return error instanceof Error && NO_PASSWORD.test(error.message)
    ? new Error("the server asks for a password and none was given (put it in the URL or PGPASSWORD)", {
        cause: error,
      })
    : error;
}

/**
 * Idle time after which the OS probes a connection of the pool the store makes (TCP keepalive; the
 * interval and count of probes are the OS's, 1 s and 10 with Node's libuv on Linux). @internal
 */
export const KEEPALIVE_IDLE_MS = 10_000;

/** A timeout option, checked: a whole number of ms that setTimeout takes, or `fallback` when not given. @internal */
export function milliseconds(value: unknown, name: string, fallback: number): number {
  return value === undefined ? fallback : checkTimerMs(`postgres store: \`${name}\``, value);
}
