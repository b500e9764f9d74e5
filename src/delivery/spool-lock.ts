import fs from "node:fs";
import type { Database } from "better-sqlite3";
import { AuditConfigError } from "../errors/index.js";
import { createPrivateFile, loadSqlite, SpoolFileError, sqliteCode } from "./spool-file.js";

/**
 * The lock that makes one emitter the only owner of a spool file, held until `release()`.
 * @internal
 */
export interface SpoolLock {
  /** The lock file: `<spool path>.lock`. */
  readonly path: string;
  /**
   * Checks that the lock file is still the one locked. One deleted (or replaced) no longer keeps a
   * second owner out: the lock is taken on the file now at the path, as at start. "held": nothing
   * changed; "retaken": the new file is locked by this owner now; "lost": another owner holds it (the
   * old lock is let go then).
   */
  check(): "held" | "retaken" | "lost";
  release(): void;
}

/**
 * Lock files this process holds, by "device:inode", shared by every copy of this library loaded in
 * the process. Checked before the file is touched: see acquireSpoolLock.
 */
const HELD: Set<string> = heldLocks();

function heldLocks(): Set<string> {
  const global = globalThis as { [key: symbol]: Set<string> | undefined };
  const key = Symbol.for("grpc-audit.spool-locks");
  const held = global[key] ?? new Set<string>();
  global[key] = held;
  return held;
}

/**
 * Takes the lock of the spool at `spoolPath`, or throws an AuditConfigError naming the path and the
 * process that holds it.
 *
 * The lock file `<spoolPath>.lock` is a small SQLite database that the owner keeps locked by SQLite
 * (`locking_mode = EXCLUSIVE`, an OS file lock): the lock goes away when the owner closes it or its
 * process ends in any way, kill -9 included, so a lock is never left stale and no pid has to be
 * guessed alive. The owner's pid is written in the file's header (`user_version`, bytes 60–63), where
 * a refused opener reads it for the error message. The file stays after release: removing it could
 * let two processes lock two different files under one name.
 *
 * `spoolPath` is the spool's real path (symlinks resolved), so that every name of one file takes one
 * lock (a file with hard links is refused before: see realSpoolPath); `shown` is how errors name it:
 * the option as the caller wrote it and the configured path ("broker emitter: delivery.spool.path …").
 *
 * POSIX file locks belong to the process and are dropped when it closes any descriptor of the file,
 * so this process never opens a lock file it holds: a second emitter here is refused from `HELD`.
 * @internal
 */
export function acquireSpoolLock(spoolPath: string, shown: string): SpoolLock {
  const lockPath = `${spoolPath}.lock`;
  let { key, db } = takeLock(lockPath, shown);
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    HELD.delete(key);
    db.close();
  };
  return {
    path: lockPath,
    check() {
      if (!held) return "lost";
      const stats = fs.statSync(lockPath, { throwIfNoEntry: false });
      if (stats !== undefined && `${stats.dev}:${stats.ino}` === key) return "held";
      let taken: { key: string; db: Database };
      try {
        taken = takeLock(lockPath, shown);
      } catch {
        release();
        return "lost";
      }
      HELD.delete(key);
      db.close();
      ({ key, db } = taken);
      return "retaken";
    },
    release,
  };
}

/** Creates the lock file if needed and locks it; throws inUse when another emitter holds it. */
function takeLock(lockPath: string, shown: string): { key: string; db: Database } {
  createPrivateFile(lockPath);
  const key = inodeKey(lockPath);
  if (HELD.has(key)) throw inUse(shown, process.pid);
  let db: Database;
  try {
    db = lockDatabase(lockPath);
  } catch (error) {
    if (sqliteCode(error) === "SQLITE_BUSY") throw inUse(shown, holderPid(lockPath));
    if (!SpoolFileError.isUnusable(error)) throw error;
    // Not a sound SQLite file, so nobody holds it (an owner's lock file always is one): start it over.
    fs.truncateSync(lockPath, 0);
    db = lockDatabase(lockPath);
  }
  HELD.add(key);
  return { key, db };
}

/** Opens the lock file and takes its lock by writing the pid; throws SQLITE_BUSY when another holds it. */
function lockDatabase(lockPath: string): Database {
  const Sqlite = loadSqlite();
  // timeout 0: a held lock is reported at once instead of after SQLite's 5 s busy wait.
  const db = new Sqlite(lockPath, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY"); // the file holds no data worth a journal file
    // The first write takes the exclusive lock, and EXCLUSIVE mode keeps it until close.
    db.pragma(`user_version = ${process.pid}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The pid in a lock file's header, or undefined when it cannot be read. */
function holderPid(lockPath: string): number | undefined {
  try {
    const header = Buffer.alloc(64);
    const fd = fs.openSync(lockPath, "r");
    try {
      if (fs.readSync(fd, header, 0, 64, 0) < 64) return undefined;
    } finally {
      fs.closeSync(fd);
    }
    const pid = header.readUInt32BE(60);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function inodeKey(file: string): string {
  const { dev, ino } = fs.statSync(file);
  return `${dev}:${ino}`;
}

function inUse(shown: string, pid: number | undefined): AuditConfigError {
  const holder =
    pid === process.pid
      ? `this process (pid ${pid}): another delivery emitter has it open`
      : pid === undefined
        ? "another process"
        : `process ${pid}`;
  return new AuditConfigError(
    `${shown} is in use by ${holder}. A spool has one owner: give each ` +
      "process (each cluster worker) and each emitter its own spool path",
  );
}
