import { type Stats, statSync } from "node:fs";
import { InvalidArgumentError, Option } from "commander";
import { PERCENT_ENCODE_HINT, redact, spaceInUserInfo, urlProblem } from "../postgres/connection-string.js";
import type { AuditStore } from "../store/audit-store.js";
import { CliError, EXIT_FAILURE, EXIT_USAGE, toCliError } from "./errors.js";
import { loadOptionalPeers } from "./optional-peers.js";
import {
  HIDDEN_VALUE,
  isConnectionString,
  storeHoldsCredentials,
  withoutCredentials,
} from "./without-credentials.js";

/** Where the commands look for the audit database when neither `--db` nor GRPC_AUDIT_DB says. */
export const DEFAULT_DB = "./audit.db";

/** How long a command waits for a lock held by another process before it gives up. */
export const BUSY_TIMEOUT_MS = 2000;

/**
 * The `--db <path>` option every command takes; the demo's takes a SQLite file only, and says so
 * where the others advise a postgres:// URL.
 */
export function dbOption(sqliteOnly = false): Option {
  return new Option(
    "--db <path>",
    sqliteOnly
      ? "the audit store the demo records into: a SQLite file"
      : "the audit database: a SQLite file, or a postgres:// URL",
  )
    .env("GRPC_AUDIT_DB")
    .default(DEFAULT_DB)
    .argParser((text: string) => storeArgument(text, sqliteOnly));
}

/**
 * Checks a --db or --to value. Empty (or GRPC_AUDIT_DB set but empty) names nothing; a value that is
 * not a postgres:// or postgresql:// URL but starts with a scheme and holds an "@" (`pg://…`,
 * `postgres//…`, ` postgres://…` with a space or quotes around it) would be taken for a file name, and
 * printed with its password in "no audit database at …", and so would a URL with a password pair after
 * a ";" or "&" (`jdbc:sqlserver://db;user=sa;password=…`): all are usage errors, the password hidden.
 * A path with ":" and "@" further on (`/srv//node:1@eu/audit.db`) is a SQLite file. A keyword/value
 * connection string (`host=db user=audit password=…`, `Server=db;Password=…`) would be taken for a
 * file name too (ingest would create it and acknowledge events into it): a usage error that shows no part of it.
 * A path with a keyword and "=" after a "/" (`./user=alice/audit.db`) is a SQLite file.
 */
export function storeArgument(text: string, sqliteOnly = false): string {
  if (text === "") throw new InvalidArgumentError("It is empty: name a SQLite file or a postgres:// URL.");
  if (/^postgres(ql)?:\/\//i.test(text)) {
    // Refused here, as every bad argument is (exit code 2), not by the store once opened: port 0 too,
    // which the URL parser takes, and which would fail only when the store connects.
    const problem =
      urlProblem(text) ??
      (withoutCredentials(text) === HIDDEN_VALUE ? hiddenBecause(text) : undefined) ??
      (redact(text) === undefined ? "is not a URL (postgres://user@host:5432/db)" : undefined);
    if (problem === undefined) return text;
    throw new CliError(`the store ${withoutCredentials(text)} ${problem}`, EXIT_USAGE);
  }
  if (isConnectionString(text)) {
    // Any pair may be the password, or show where it is: no part of the value is shown.
    const advice = sqliteOnly
      ? "the demo records into a SQLite file only"
      : "give a postgres:// URL, such as postgres://audit@db:5432/audit, with the password in PGPASSWORD (or ~/.pgpass, or the URL)";
    throw new CliError(
      `the store looks like a keyword=value connection string (host=… user=…, or Password=…), which grpc-audit does not read: ${advice}; write a SQLite file whose name holds such a pair as ./<name> or an absolute path`,
      EXIT_USAGE,
    );
  }
  if (storeHoldsCredentials(text)) {
    // Not commander's InvalidArgumentError: its message repeats the value, password and all.
    throw new CliError(
      `the store ${withoutCredentials(text)} looks like a URL, but only postgres:// and postgresql:// URLs name a store (no space or quotes around them); write a SQLite file as ./<name>`,
      EXIT_USAGE,
    );
  }
  return text;
}

/**
 * Why a postgres:// URL with no other problem cannot be shown without hiding it whole: a space in its
 * user name or password, a pasted `;password=…` (no part of a postgres:// URL: the store would be
 * named with it), or an "@" in a query value (`?application_name=a@b`), where a password holding
 * "?" and digits (`u:5432?a=b@db`) would be shown as the port.
 */
function hiddenBecause(text: string): string {
  if (spaceInUserInfo(text)) return `has a space in its user name or password; ${PERCENT_ENCODE_HINT}`;
  const query = text.indexOf("?");
  if (
    query !== -1 &&
    text.indexOf("@", query) !== -1 &&
    !/[;&]\s*(?:password|pwd|passwd)\s*=/i.test(text.slice(0, query))
  )
    return 'has an "@" in its query: percent-encode it there (%40)';
  return 'holds a password pair after a ";" or "&": give it as postgres://user:password@host/db or in PGPASSWORD';
}

/**
 * Opens the audit database at `path`, which must exist (the CLI never creates one by accident), and
 * turns every reason it cannot into a CliError: missing file, better-sqlite3 not installed, a file
 * that is locked, corrupt or not an audit store.
 */
async function openExistingStore(path: string, options: { readonly: boolean }): Promise<AuditStore> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new CliError(
      `no audit database at ${withoutCredentials(path)}; run \`grpc-audit demo\` or pass --db`,
      EXIT_FAILURE,
    );
  }
  if (!stat.isFile()) {
    // SQLite would say "disk I/O error" for a folder; a named pipe or a device holds no database either.
    throw new CliError(
      `audit store ${withoutCredentials(path)}: ${notAFile(stat)}, not a database file`,
      EXIT_FAILURE,
    );
  }
  const { openAuditStore } = await loadStoreModule();
  try {
    // Opened writable (prune), the store would take an empty file for a new store and create one in
    // it: read-only first, which refuses anything but an audit store, and changes nothing.
    if (!options.readonly) openAuditStore({ path, readonly: true, busyTimeoutMs: BUSY_TIMEOUT_MS }).close();
    return openAuditStore({ path, readonly: options.readonly, busyTimeoutMs: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw toCliError(error, path);
  }
}

/** What a path that is not a regular file is, for an error ("a folder"). */
export function notAFile(stat: Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a named pipe";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Runs `use` with the store open and closes it afterwards; errors thrown by `use` (a locked or corrupt
 * database found while reading, a cursor this store did not make) become CliErrors.
 */
export async function withStore<T>(
  path: string,
  options: { readonly: boolean },
  use: (store: AuditStore) => T | Promise<T>,
): Promise<T> {
  const store = await openExistingStore(path, options);
  try {
    return await use(store);
  } catch (error) {
    throw toCliError(error, path);
  } finally {
    store.close();
  }
}

/**
 * The store module, loaded on first use: better-sqlite3 is an optional peer dependency, and
 * `grpc-audit --help` must work without it.
 */
export async function loadStoreModule(): Promise<typeof import("../store/audit-store.js")> {
  return loadOptionalPeers(
    async () => {
      // The store imports without better-sqlite3 (it loads it when a store is opened): imported here
      // too, so that the command says what to install, for a global grpc-audit too, before it starts.
      await import("better-sqlite3");
      return import("../store/audit-store.js");
    },
    "the audit store",
    ["better-sqlite3"],
  );
}
