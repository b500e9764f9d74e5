import { AuditConfigError, AuditInputError } from "../errors/index.js";
import { redact } from "../postgres/connection-string.js";
import { withoutCredentials } from "./without-credentials.js";

/** Exit code of a command that failed because of its arguments (a bad option value, an unknown flag). */
export const EXIT_USAGE = 2;
/** Exit code of a command that failed for another reason (no database, a locked or corrupt one). */
export const EXIT_FAILURE = 1;

/** An error the CLI reports as one line on stderr and ends with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";

  constructor(
    message: string,
    readonly exitCode: typeof EXIT_USAGE | typeof EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A usage error naming the option and the form it accepts. */
export function usageError(option: string, problem: string): CliError {
  return new CliError(`option '${option}' ${problem}`, EXIT_USAGE);
}

/**
 * What anything thrown by a command becomes: store input errors (a bad filter or cursor) are usage
 * errors; a database that is locked, corrupt or from a newer version is a failure naming the file;
 * any other error of a PostgreSQL store (the server's, pg's) names the store, as its own errors do.
 */
export function toCliError(error: unknown, store: string): CliError {
  if (error instanceof CliError) return error;
  const dbPath = withoutCredentials(store);
  if (error instanceof AuditInputError) return new CliError(error.message, EXIT_USAGE, { cause: error });
  if (error instanceof AuditConfigError) return new CliError(error.message, EXIT_FAILURE, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new CliError(`audit store ${dbPath}: the database is locked by another process`, EXIT_FAILURE, {
      cause: error,
    });
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new CliError(`audit store ${dbPath}: the database file is corrupt`, EXIT_FAILURE, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const postgres = redact(store);
  if (postgres !== undefined && fromPostgres(error)) {
    return new CliError(`postgres store ${postgres}: ${message}`, EXIT_FAILURE, { cause: error });
  }
  return new CliError(message, EXIT_FAILURE, { cause: error });
}

/** pg's own messages for a connection that failed or was closed under a statement. */
const PG_CLIENT =
  /^(Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Connection terminated( unexpectedly)?|Query read timeout)$/;
/** Network failures of a connection (a broker's come named by its source). */
const NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Whether `error` is a PostgreSQL server's error (it has a severity), pg's own or a connection's, not
 * yet naming the store: the store names those it makes, brokers' sources theirs.
 */
function fromPostgres(error: unknown): boolean {
  if (!(error instanceof Error) || error.message.startsWith("postgres store ")) return false;
  const { severity, code } = error as { severity?: unknown; code?: unknown };
  return (
    typeof severity === "string" ||
    PG_CLIENT.test(error.message) ||
    (typeof code === "string" && NETWORK.has(code))
  );
}
