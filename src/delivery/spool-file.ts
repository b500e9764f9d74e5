import fs from "node:fs";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "better-sqlite3";
import { loadSqlitePeer } from "../errors/load-sqlite-peer.js";
import { type DeliveryOptionsPlace, DIRECT_PLACE } from "./options.js";
import { SPOOL_SCHEMA_VERSION } from "./spool-schema.js";

const COLUMNS = ["id", "event_id", "event_type", "bytes", "size"] as const;

const CREATE_SPOOL = `
  CREATE TABLE spool (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    size INTEGER NOT NULL
  )`;

/**
 * One row that counts the rows of `spool`, updated in the same transactions. On its own page, it
 * tells how many rows a damaged file held when the pages that held them cannot be read.
 */
const CREATE_TALLY = "CREATE TABLE spool_tally (rows INTEGER NOT NULL)";

/**
 * A spool file this library cannot use: another program's database or schema ("foreign"), a spool
 * written by a newer version of the library ("newer", with the undelivered rows it holds, undefined
 * when they cannot be counted), or a spool whose -wal file is not a write-ahead log ("bad-wal";
 * damaged pages are SQLite's SQLITE_CORRUPT).
 * @internal
 */
export class SpoolFileError extends Error {
  override name = "SpoolFileError";

  constructor(
    message: string,
    readonly kind: "foreign" | "newer" | "bad-wal",
    readonly rows?: number,
  ) {
    super(message);
  }

  /** True for errors that mean "this file is not a usable spool", as opposed to I/O or permission errors. */
  static isUnusable(error: unknown): boolean {
    const code = sqliteCode(error);
    return error instanceof SpoolFileError || code === "SQLITE_NOTADB" || isCorruptCode(code);
  }

  /** True for a spool whose pages or -wal are damaged: its readable rows are worth saving. */
  static isDamage(error: unknown): boolean {
    return error instanceof SpoolFileError ? error.kind === "bad-wal" : isCorruptCode(sqliteCode(error));
  }
}

function isCorruptCode(code: string | undefined): boolean {
  return code?.startsWith("SQLITE_CORRUPT") === true;
}

/** The SQLite error code of a thrown error ("SQLITE_BUSY"), if it has one. @internal */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/**
 * Loads better-sqlite3 on first use: it is an optional peer dependency, needed only with a spool.
 * Without it, throws an AuditConfigError that says what to install, naming the spool option as given
 * at `place`.
 * @internal
 */
export function loadSqlite(place: DeliveryOptionsPlace = DIRECT_PLACE): typeof BetterSqlite3 {
  return loadSqlitePeer(`${place.label}: \`${place.path}spool\``);
}

/**
 * Creates `file` with mode 0600 when it does not exist (SQLite gives its -wal and -shm files the
 * mode of the database file), with missing folders 0700. An existing file is left as it is, and is
 * not opened: a descriptor closed in this process would drop the SQLite locks held on it.
 * @internal
 */
export function createPrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** What the spool's -wal file is cut back to after a checkpoint (journal_size_limit). @internal */
export const SPOOL_WAL_LIMIT_BYTES = 1024 * 1024;

/**
 * Opens (or creates) the spool file at `file` in WAL mode, upgrading a version 1 spool. Throws a
 * SpoolFileError, or SQLite's SQLITE_NOTADB / SQLITE_CORRUPT error, for a file that is not a usable
 * spool; other failures (no permission) throw as they are.
 * @internal
 */
export function openSpoolFile(file: string, synchronous: "full" | "normal"): Database {
  createPrivateFile(file);
  checkWal(file);
  const Sqlite = loadSqlite();
  const db = new Sqlite(file);
  try {
    // Check before changing anything, so a file that is not ours is moved aside exactly as found. The
    // first statement reads the header: a file that is not SQLite fails there (SQLITE_NOTADB).
    ensureSchema(db);
    db.pragma("journal_mode = WAL");
    // SQLite keeps the -wal file at its largest size and reuses it (about 4 MiB after an outage, with
    // the default checkpoint every 1000 pages): the first commit after a checkpoint that emptied it
    // cuts it back to this size.
    db.pragma(`journal_size_limit = ${SPOOL_WAL_LIMIT_BYTES}`);
    db.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
    // From here on SQLite never waits for a lock (its default waits up to 5 s, blocking the event loop,
    // and emit commits in write-ahead mode): a busy file fails at once, a failure without damage that
    // is retried after a backoff delay.
    db.pragma("busy_timeout = 0");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens a spool that was moved aside, to read what can be read: read-only, so the file stays as
 * found, and tolerant of a file shorter than its header says (writable_schema needs unsafe mode).
 * @internal
 */
export function openDamagedSpool(file: string): Database {
  const db = new (loadSqlite())(file, { readonly: true, fileMustExist: true });
  try {
    db.unsafeMode(true);
    db.pragma("writable_schema = ON");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Words for why a file is not a usable spool. @internal */
export function describeProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SpoolFileError) {
    return error.kind === "foreign" ? `the file is not a grpc-audit spool (${message})` : message;
  }
  if (sqliteCode(error) === "SQLITE_NOTADB") return `the file is not a SQLite database (${message})`;
  return `the file is damaged (${message})`;
}

/** A free name beside `file` to move it aside to: `<file>.corrupt-<time>`. @internal */
export function asideName(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let to = `${file}.corrupt-${stamp}`;
  for (let n = 2; fs.existsSync(to); n++) to = `${file}.corrupt-${stamp}-${n}`;
  return to;
}

/**
 * Renames the spool file, and its -wal and -shm files, to `to` (a free name); returns it. A WAL left
 * behind would otherwise be applied to the new spool.
 * @internal
 */
export function moveAside(file: string, to = asideName(file)): string {
  fs.renameSync(file, to);
  for (const suffix of ["-wal", "-shm"]) {
    if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, to + suffix);
  }
  return to;
}

/**
 * The name beside `file` a new spool is made under while an unusable one is replaced: it is renamed to
 * `file` only once complete, so a crash meanwhile leaves the old file at its path, and a file found
 * under this name is a partial copy.
 * @internal
 */
export function salvageFile(file: string): string {
  return `${file}.salvage`;
}

/** Removes the database `file` with the -wal, -shm and -journal SQLite keeps beside it. @internal */
export function removeDatabase(file: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) fs.rmSync(file + suffix, { force: true });
}

/**
 * Ends WAL mode on `db`, so that every row is in its file itself (checkpointed and synced), not in a
 * -wal that a rename of the file would leave behind; throws when SQLite cannot.
 * @internal
 */
export function leaveWalMode(db: Database): void {
  const mode: unknown = db.pragma("journal_mode = DELETE", { simple: true });
  if (mode !== "delete") throw new Error(`could not checkpoint the new spool (journal mode ${String(mode)})`);
}

/** The magic numbers a SQLite write-ahead log starts with (big- or little-endian checksums). */
const WAL_MAGIC = [0x377f0682, 0x377f0683];

/**
 * Throws when `<file>-wal` holds bytes but is not a SQLite write-ahead log. SQLite would ignore such a
 * file and delete it on close, so whatever it held would vanish without a word.
 */
function checkWal(file: string): void {
  let size: number;
  try {
    size = fs.statSync(`${file}-wal`).size;
  } catch {
    return; // no -wal file
  }
  if (size === 0) return;
  const header = Buffer.alloc(32);
  const fd = fs.openSync(`${file}-wal`, "r");
  try {
    fs.readSync(fd, header, 0, 32, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (size < 32 || !WAL_MAGIC.includes(header.readUInt32BE(0))) {
    throw new SpoolFileError(`its -wal file (${size} bytes) is not a SQLite write-ahead log`, "bad-wal");
  }
}

function ensureSchema(db: Database): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  if (version === 0 && tables.length === 0) {
    db.transaction(() => {
      db.exec(CREATE_SPOOL);
      db.exec(CREATE_TALLY);
      db.exec("INSERT INTO spool_tally (rows) VALUES (0)");
      db.pragma(`user_version = ${SPOOL_SCHEMA_VERSION}`);
    })();
    return;
  }
  const columns = db.prepare("SELECT name FROM pragma_table_info('spool')").pluck().all();
  if (version > SPOOL_SCHEMA_VERSION && COLUMNS.every((column) => columns.includes(column))) {
    const rows = undeliveredRows(db);
    const held =
      rows === undefined
        ? "undelivered events it cannot count"
        : `${rows} undelivered events, counted as lost here`;
    throw new SpoolFileError(
      `the file was written by a newer grpc-audit (schema version ${version}; this version reads ${SPOOL_SCHEMA_VERSION}) ` +
        `and holds ${held}: a newer grpc-audit delivers them from the file moved aside`,
      "newer",
      rows,
    );
  }
  if (version !== 1 && version !== SPOOL_SCHEMA_VERSION) {
    throw new SpoolFileError(
      `schema version ${version} with tables [${tables.join(", ")}], expected version ${SPOOL_SCHEMA_VERSION}`,
      "foreign",
    );
  }
  if (columns.join() !== COLUMNS.join()) {
    throw new SpoolFileError(
      `table spool has columns [${columns.join(", ")}], expected [${COLUMNS.join(", ")}]`,
      "foreign",
    );
  }
  if (version === SPOOL_SCHEMA_VERSION && !tables.includes("spool_tally")) {
    throw new SpoolFileError(`tables [${tables.join(", ")}], expected [spool, spool_tally]`, "foreign");
  }
  if (version === 1) {
    // Version 1 had no tally: count the rows once.
    db.transaction(() => {
      db.exec(CREATE_TALLY);
      db.exec("INSERT INTO spool_tally (rows) SELECT count(*) FROM spool");
      db.pragma(`user_version = ${SPOOL_SCHEMA_VERSION}`);
    })();
  }
}

/** The rows a spool of a newer schema holds: its tally, else a count; undefined when neither can be read. */
function undeliveredRows(db: Database): number | undefined {
  for (const sql of ["SELECT rows FROM spool_tally", "SELECT count(*) FROM spool"]) {
    try {
      const rows: unknown = db.prepare(sql).pluck().get();
      if (typeof rows === "number") return rows;
    } catch {
      // Not there, or unreadable: the next way, or none.
    }
  }
  return undefined;
}
