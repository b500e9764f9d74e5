import fs from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Database } from "better-sqlite3";
import { AuditEmitError } from "../errors/index.js";

/**
 * Whether the store's path still names the file its connection has open, and its `-wal` path the log
 * it writes to. SQLite keeps writing into a database file deleted, moved or replaced under it (in WAL
 * mode it reports nothing), so every later write would look stored and be lost with the process, and
 * the log it leaves at the path would be read as the log of whatever file is put there next; into a
 * deleted log, every commit is lost when the process ends without `close()`. Both identities (device
 * and inode) are read when the store opens and compared before and after each write: one `stat` per
 * file each time, microseconds against the milliseconds of a batch's commit.
 * @internal
 */
export interface FileGuard {
  /**
   * Throws an AuditEmitError naming the file when a path no longer names the file opened, saying
   * `lost` (what did not happen). The first time it finds that, it first moves the write-ahead log
   * into the database file the store has open (so a file moved away is complete, and a deleted log
   * loses nothing) and empties the log (so a file put at the path later is not read through it).
   */
  check(lost: string): void;
  /** Empties the log into the file opened, as `check` does, when a path no longer names its file. */
  release(): void;
}

/**
 * Which file a path names: device and inode, or undefined when it names none this process can see.
 * @internal
 */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** @internal */
export function fileId(file: string): FileId | undefined {
  try {
    const stats = fs.statSync(file);
    return { dev: stats.dev, ino: stats.ino };
  } catch {
    // Not only ENOENT: a folder on the way moved and a file left at its name (ENOTDIR), a symlink loop
    // (ELOOP), a folder made unreadable (EACCES) all mean the path no longer leads to the file opened.
    return undefined;
  }
}

/**
 * One path and the file it named when first seen (the log is created by the first transaction).
 * @internal
 */
export class WatchedFile {
  private opened: FileId | undefined;

  constructor(readonly path: string) {
    this.opened = fileId(path);
  }

  /** True when the path no longer names the file first seen there. */
  moved(): boolean {
    const now = fileId(this.path);
    if (this.opened === undefined) {
      this.opened = now;
      return false;
    }
    return now === undefined || now.dev !== this.opened.dev || now.ino !== this.opened.ino;
  }
}

/**
 * The guard of the store file at `path`, open as `db`; undefined for an in-memory store. Call it right
 * after opening: the file the path names then is the one SQLite opened.
 * @internal
 */
export function guardStoreFile(path: string, db: Database): FileGuard | undefined {
  if (path === ":memory:") return undefined;
  const { file, log } = openedPaths(path, db);
  // The log's inode never changes while a connection is open: SQLite truncates it, and deletes it only
  // when the last connection closes.
  const watched = [new WatchedFile(file), new WatchedFile(log)];
  let released = false;
  const movedFile = () => watched.find((w) => w.moved());
  const release = () => {
    if (released || !db.open) return;
    released = true;
    try {
      db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // A reader holds the log: it stays as SQLite leaves it, and writes stay refused.
    }
  };
  return {
    release: () => {
      if (movedFile() !== undefined) release();
    },
    check(lost) {
      if (!db.open) return; // a closed store has no file to lose: SQLite's own error says it is closed
      const moved = movedFile();
      if (moved === undefined) {
        released = false; // the file is back (moved back): a later removal is a new one
        return;
      }
      release();
      const which = moved.path === file ? "the file" : `its write-ahead log ${log}`;
      throw new AuditEmitError(
        `audit store ${path}`,
        `${which} was removed or replaced while this store had it open: ${lost}; restore the file or restart the writer`,
      );
    },
  };
}

/**
 * The paths to watch, resolved as SQLite resolved them at open (the process may change its working
 * folder later). SQLite follows every symlink, and a `..` after one goes up from its target, so the
 * folder is resolved by the system's realpath (Node's `realpathSync` applies `..` before following
 * links). The file keeps its own name: `stat` follows a final symlink, so a link pointed elsewhere is
 * seen. The log is where SQLite keeps it: beside the file SQLite names as the one it opened (a final
 * symlink's target).
 */
function openedPaths(path: string, db: Database): { file: string; log: string } {
  let file: string;
  try {
    file = join(fs.realpathSync.native(dirname(path)), basename(path));
  } catch {
    file = resolve(path); // the folder is gone already: the path as given, resolved
  }
  return { file, log: logPathOf(db, file) };
}

/**
 * The write-ahead log's path: beside the file SQLite names as the one it opened (a final symlink's
 * target), not beside the path given. `fallback` when SQLite names none.
 * @internal
 */
export function logPathOf(db: Database, fallback: string): string {
  const main = (db.pragma("database_list") as { name: string; file: string }[]).find(
    (d) => d.name === "main",
  );
  return `${main?.file || fallback}-wal`;
}
