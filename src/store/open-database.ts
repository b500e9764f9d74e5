import fs from "node:fs";
import nodePath from "node:path";
import type { Database } from "better-sqlite3";
import { AuditConfigError } from "../errors/index.js";
import { loadSqlitePeer } from "../errors/load-sqlite-peer.js";
import { diskProblem } from "./disk-errors.js";
import { backfillColumns, readAnyVersion } from "./earlier-schemas.js";
import { checkSchema, migrate, SCHEMA_VERSION } from "./schema.js";
import { sleepSync } from "./sleep-sync.js";
import type { OpenOptions } from "./store-options.js";

/**
 * Page size of new stores: 64 KiB, SQLite's largest, instead of its 4 KiB default. Each batch dirties
 * one index page per actor and target it touches, and larger pages mean fewer pages to log and
 * checkpoint: inserting 1M events (bench/store.ts) ran at a median of 53k/s with 64 KiB pages against
 * 47k/s with 16 KiB and 27k/s with 4 KiB, while a first page of one actor's events still took 1–2 ms.
 * Existing files keep the page size they were created with.
 * @internal
 */
export const PAGE_SIZE = 65536;

/**
 * Opens the store's database (creating the file privately, and creating or migrating its schema,
 * unless `readonly`). Throws an AuditConfigError naming the file and saying why it cannot be opened,
 * or, without better-sqlite3, one that says what to install.
 * @internal
 */
export function openDatabase({ path, readonly, busyTimeoutMs }: OpenOptions): Database {
  // Loaded here, not imported: better-sqlite3 is an optional peer, and `grpc-audit/store` must import
  // without it. Before the file is created, and not said as the file's fault by openError.
  const Sqlite = loadSqlitePeer("audit store: openAuditStore");
  let db: Database | undefined;
  try {
    if (!readonly) createPrivately(path);
    db = new Sqlite(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
    db.pragma("synchronous = NORMAL"); // WAL + NORMAL: durable across process crashes, fast commits
    db.pragma("cache_size = -65536"); // 64 MiB of page cache: index pages of a large store stay in memory
    db.pragma("mmap_size = 268435456"); // read pages through a 256 MiB map instead of a syscall each
    if (readonly) readAnyVersion(db, readSchema(db, true));
    else prepareSchema(db, busyTimeoutMs);
    return db;
  } catch (error) {
    if (db?.open === true) db.close();
    throw openError(path, readonly, error);
  }
}

/** Mode of a store file this library creates: audit events name people, only the owner may read them. */
const STORE_FILE_MODE = 0o600;

/**
 * Creates the store file empty with mode 0600 unless it exists. SQLite would create it with 0644
 * (less the umask), and gives its -wal and -shm files the mode of the database file.
 */
function createPrivately(path: string): void {
  if (path === ":memory:") return;
  try {
    fs.closeSync(fs.openSync(path, "wx", STORE_FILE_MODE));
  } catch {
    // It exists, or it cannot be created: better-sqlite3 opens it or says why it cannot.
  }
}

/** The schema version (`checkSchema`), with the version and the table list read from one snapshot. */
function readSchema(db: Database, readonly: boolean): number {
  return db.transaction(() => checkSchema(db, readonly)).deferred();
}

/**
 * Checks the schema, then creates or migrates it and fills in the columns added since, all in one
 * IMMEDIATE transaction: a process killed midway leaves the file as it was (never at a new version
 * with the new columns empty), and processes opening one file at once take turns, each reading the
 * version the one before it left. WAL only after the commit: a transaction cannot switch the journal
 * mode, and another application's database, refused inside, is never switched.
 */
function prepareSchema(db: Database, busyTimeoutMs: number): void {
  db.pragma(`page_size = ${PAGE_SIZE}`); // takes effect only on a new, empty file
  // Most opens find the current schema: read without the write lock, which another writer may hold.
  if (readSchema(db, false) < SCHEMA_VERSION) {
    db.transaction(() => {
      checkSchema(db, false); // again: another process may have migrated it meanwhile
      const from = migrate(db);
      if (from > 0 && from < 3) backfillColumns(db, from);
    }).immediate();
  }
  switchToWal(db, busyTimeoutMs);
}

/**
 * Switches the file to WAL (a no-op once it is). The switch reads the file, then takes its write lock:
 * while another connection holds that lock (another process switching the new file too, or writing),
 * SQLite answers SQLITE_BUSY at once rather than wait in its busy handler (a reader waiting on a writer
 * could deadlock): processes opening a new file together failed so. Tried again, 10 ms apart, for up
 * to `busyTimeoutMs`, as a statement waits for a lock.
 */
function switchToWal(db: Database, busyTimeoutMs: number): void {
  const until = performance.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "SQLITE_BUSY" || performance.now() >= until) throw error;
      sleepSync(10);
    }
  }
}

/** Why a reader that may read the file, but not write its folder, cannot read the store. */
const READONLY_FOLDER =
  "cannot read it: reading a store (WAL mode) needs its -shm file, which this process may not create in the store's folder; " +
  "run as a user who may write that folder (such as the store's owner), or give this user write access to it";

/** Why a reader that may read the file cannot read the store on a read-only file system. */
const READONLY_FILE_SYSTEM =
  "cannot read it: reading a store (WAL mode) needs its -shm file, which cannot be created on the read-only file system of the store's folder; " +
  "copy the store file (and its -wal file, if there is one) to a writable folder and read the copy";

function openError(path: string, readonly: boolean, error: unknown): AuditConfigError {
  if (error instanceof AuditConfigError) {
    return new AuditConfigError(error.message.replace(/^audit store:/, `audit store ${path}:`), {
      cause: error,
    });
  }
  return new AuditConfigError(`audit store ${path}: ${openProblem(path, readonly, error)}`, { cause: error });
}

/** SQLite's error opening the store, said for people. */
function openProblem(path: string, readonly: boolean, error: unknown): string {
  const code = (error as { code?: string }).code ?? "";
  if (code === "SQLITE_CANTOPEN") {
    return (
      (readonly ? unwritableFolder(path) : undefined) ??
      "cannot open the file (does its folder exist, and may this process read it?)"
    );
  }
  if (code === "SQLITE_NOTADB") return "the file is not a SQLite database";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") return "the database is locked by another process";
  if (code === "SQLITE_READONLY_DIRECTORY") return READONLY_FOLDER;
  const disk = diskProblem(error);
  if (disk !== undefined) return `cannot open it: ${disk}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why a readable store file could not be opened read-only, when its folder cannot be written: SQLite
 * says only SQLITE_CANTOPEN when it cannot create the -shm file on a read-only file system (a
 * snapshot, a read-only mount), or when a -wal file left beside the store needs one that another
 * user may not create. Undefined when the file cannot be read or the folder can be written.
 */
function unwritableFolder(path: string): string | undefined {
  try {
    fs.accessSync(path, fs.constants.R_OK);
  } catch {
    return undefined;
  }
  try {
    fs.accessSync(nodePath.dirname(path), fs.constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === "EROFS" ? READONLY_FILE_SYSTEM : code === "EACCES" ? READONLY_FOLDER : undefined;
  }
}
