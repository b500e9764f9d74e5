import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";

/** Options of `openAuditStore`. */
export interface AuditStoreOptions {
  /** The SQLite file; created (with its folder missing = error) when absent unless `readonly`. */
  path: string;
  /**
   * Open for reading only (the CLI's query, stats, tail and `prune --dry-run`): `insert` and `prune`
   * (but for a `dryRun`) throw an AuditConfigError. Default: false.
   */
  readonly?: boolean;
  /** How long a statement waits for a lock another process holds before failing. Default: 5000. */
  busyTimeoutMs?: number;
  /**
   * Run the write-ahead log's checkpoints on a worker thread instead of inside `insert` on the event
   * loop. Default: true. With false SQLite checkpoints every ~40 MiB of log during a commit. With
   * true, once the log is beyond ~40 MiB (other processes writing too), `insert` waits (at most
   * `busyTimeoutMs`) while the worker empties it.
   */
  backgroundCheckpoints?: boolean;
  /** Called when the checkpoint worker fails; the store then checkpoints inline. Default: ignore. */
  onError?: (error: Error) => void;
  /** @internal Module the checkpoint worker loads instead of better-sqlite3 (tests make it fail). Default: better-sqlite3. */
  checkpointDriver?: string;
}

/** The option names of `AuditStoreOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  path: 1,
  readonly: 1,
  busyTimeoutMs: 1,
  backgroundCheckpoints: 1,
  onError: 1,
  checkpointDriver: 1,
} satisfies Record<keyof AuditStoreOptions, 1>);

/** The longest busy timeout better-sqlite3 takes (2^31 - 1 ms). */
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;

/** The options `openAuditStore` opens the file with, checked, with their defaults. @internal */
export interface OpenOptions {
  readonly path: string;
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
}

/**
 * Checks the options of `openAuditStore` and resolves the ones the file is opened with; throws an
 * AuditConfigError naming the option.
 * @internal
 */
export function checkStoreOptions(options: AuditStoreOptions): OpenOptions {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("audit store: options must be an object with a `path`");
  rejectUnknownOptions("audit store", options, OPTION_NAMES);
  if (typeof options.path !== "string" || options.path === "") {
    throw new AuditConfigError("audit store: `path` must be a non-empty string");
  }
  const { path, readonly = false, busyTimeoutMs = 5000 } = options;
  // Checked here, before the file is created: SQLite would open the file named by the part before a
  // NUL, and better-sqlite3's own errors name its `timeout` option, not ours.
  if (path.includes("\0")) throw new AuditConfigError("audit store: `path` must not contain a NUL character");
  if (typeof readonly !== "boolean") throw new AuditConfigError("audit store: `readonly` must be a boolean");
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > MAX_BUSY_TIMEOUT_MS) {
    throw new AuditConfigError(
      `audit store: \`busyTimeoutMs\` must be a whole number of ms from 0 to ${MAX_BUSY_TIMEOUT_MS}, got ${String(busyTimeoutMs)}`,
    );
  }
  if (options.backgroundCheckpoints !== undefined && typeof options.backgroundCheckpoints !== "boolean") {
    throw new AuditConfigError("audit store: `backgroundCheckpoints` must be a boolean");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new AuditConfigError("audit store: `onError` must be a function");
  }
  const { checkpointDriver } = options;
  if (checkpointDriver !== undefined && (typeof checkpointDriver !== "string" || checkpointDriver === "")) {
    throw new AuditConfigError("audit store: `checkpointDriver` must be a module name");
  }
  return { path, readonly, busyTimeoutMs };
}
