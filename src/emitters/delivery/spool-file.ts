import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "better-sqlite3";
import { AuditConfigError } from "../../errors/index.js";
import { SPOOL_SCHEMA_VERSION } from "./spool-schema.js";

const COLUMNS = ["id", "event_id", "event_type", "bytes", "size"] as const;

const CREATE_TABLE = `
  CREATE TABLE spool (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    size INTEGER NOT NULL
  )`;

/**
 * A spool file this library cannot use: another schema or another program's database.
 * @internal
 */
export class SpoolFileError extends Error {
  override name = "SpoolFileError";

  /** True for errors that mean "this file is not a usable spool", as opposed to I/O or permission errors. */
  static isCorruption(error: unknown): boolean {
    if (error instanceof SpoolFileError) return true;
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT"));
  }
}

const require = createRequire(import.meta.url);
let sqlite: typeof BetterSqlite3 | undefined;

/** Loads better-sqlite3 on first use: it is an optional peer dependency, needed only with a spool. */
function loadSqlite(): typeof BetterSqlite3 {
  if (sqlite === undefined) {
    try {
      sqlite = require("better-sqlite3") as typeof BetterSqlite3;
    } catch (error) {
      throw new AuditConfigError(
        "delivery emitter: `spool` needs the optional peer dependency better-sqlite3 (npm install better-sqlite3)",
        { cause: error },
      );
    }
  }
  return sqlite;
}

/**
 * Opens (or creates) the spool file at `file` in WAL mode. A file that is not a usable spool is moved
 * aside and replaced by an empty one; `moved` then says why and where it went. Other failures (a
 * folder that cannot be created, no permission) throw.
 * @internal
 */
export function openSpoolDatabase(
  file: string,
  synchronous: "full" | "normal",
): { db: Database; moved?: { problem: string; to: string } } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    return { db: tryOpen(file, synchronous) };
  } catch (error) {
    if (!SpoolFileError.isCorruption(error)) throw error;
    const to = moveAside(file);
    return { db: tryOpen(file, synchronous), moved: { problem: describeProblem(error), to } };
  }
}

/** Words for why a file is not a usable spool. @internal */
export function describeProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SpoolFileError) return `the file is not a grpc-audit spool (${message})`;
  if ((error as { code?: unknown }).code === "SQLITE_NOTADB") {
    return `the file is not a SQLite database (${message})`;
  }
  return `the file is corrupt (${message})`;
}

/**
 * Renames the spool file, and its -wal and -shm files, to `<file>.corrupt-<time>`; returns the new name.
 * A WAL left behind would otherwise be applied to the new spool.
 * @internal
 */
export function moveAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let to = `${file}.corrupt-${stamp}`;
  for (let n = 2; fs.existsSync(to); n++) to = `${file}.corrupt-${stamp}-${n}`;
  fs.renameSync(file, to);
  for (const suffix of ["-wal", "-shm"]) {
    if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, to + suffix);
  }
  return to;
}

function tryOpen(file: string, synchronous: "full" | "normal"): Database {
  const Sqlite = loadSqlite();
  const db = new Sqlite(file);
  try {
    // Check before changing anything, so a file that is not ours is moved aside exactly as found. The
    // first statement reads the header: a file that is not SQLite fails there (SQLITE_NOTADB).
    ensureSchema(db);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function ensureSchema(db: Database): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  if (version === 0 && tables.length === 0) {
    db.transaction(() => {
      db.exec(CREATE_TABLE);
      db.pragma(`user_version = ${SPOOL_SCHEMA_VERSION}`);
    })();
    return;
  }
  if (version !== SPOOL_SCHEMA_VERSION) {
    throw new SpoolFileError(
      `schema version ${version} with tables [${tables.join(", ")}], expected version ${SPOOL_SCHEMA_VERSION}`,
    );
  }
  const columns = db.prepare("SELECT name FROM pragma_table_info('spool')").pluck().all();
  if (columns.join() !== COLUMNS.join()) {
    throw new SpoolFileError(
      `table spool has columns [${columns.join(", ")}], expected [${COLUMNS.join(", ")}]`,
    );
  }
}
