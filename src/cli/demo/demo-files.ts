// The files a demo run writes (--db, its -wal and -shm, --log): which it may use, and which it
// removes again when it does not finish.
import { lstatSync, realpathSync, rmSync, type Stats, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { usageError } from "../errors.js";

/** The files of one demo run. */
export interface DemoFiles {
  /** The paths that were absent when the run started: it created them, so it may remove them. */
  readonly created: readonly string[];
}

/**
 * Checks the demo's paths before it writes anything and notes which ones it will create. Without
 * `keep` the demo writes only to new files: it never deletes or overwrites a file it did not create,
 * because --db or GRPC_AUDIT_DB may name someone's real audit store. A file that is absent or empty
 * is new; anything else at the path (a file with content, a folder, a link) is refused. The one
 * exception is an orphaned write-ahead log (`removeOrphanedWal`).
 */
export function claimDemoFiles(db: string, log: string, keep: boolean): DemoFiles {
  refuseLogInStore(db, log);
  removeOrphanedWal(db);
  const files = [
    ["--db", db, db],
    ["--db", db, `${db}-wal`],
    ["--db", db, `${db}-shm`],
    ["--log", log, log],
  ] as const;
  if (!keep) {
    for (const [option, path, file] of files) {
      const found = lstatSync(file, { throwIfNoEntry: false });
      if (found === undefined || (found.isFile() && found.size === 0)) continue;
      const what = file === path ? `${path}, which already exists` : `${path}, and ${file} already exists`;
      throw usageError(
        option,
        `names ${what}; the demo only writes to new files: remove it, choose another path, or pass --keep to add to it`,
      );
    }
  }
  const absent = files.map(([, , file]) => file).filter((file) => !exists(file));
  return { created: [...new Set(absent)] };
}

/** The files of a SQLite store: the database, and what SQLite keeps beside it. */
const STORE_FILES = [
  ["", "the same file as"],
  ["-wal", "the write-ahead log of"],
  ["-shm", "the shared-memory file of"],
  ["-journal", "the rollback journal of"],
] as const;

/**
 * Refuses a --log that is a file of the store at --db, `--keep` or not: pino would append its lines
 * to the database (or to the journal SQLite replays into it). Each path alone passes the checks of
 * `claimDemoFiles` (both are new), so they are compared: by their resolved paths (folders followed
 * through symlinks), and by device and inode where both exist (a hard link, a symlinked file).
 */
function refuseLogInStore(db: string, log: string): void {
  const logPath = resolvedPath(log);
  const logStats = statOf(log);
  for (const [suffix, role] of STORE_FILES) {
    const file = `${db}${suffix}`;
    const stats = logStats === undefined ? undefined : statOf(file);
    const sameInode =
      stats !== undefined &&
      logStats !== undefined &&
      stats.dev === logStats.dev &&
      stats.ino === logStats.ino;
    if (!sameInode && resolvedPath(file) !== logPath) continue;
    const which = db === log ? "--db" : `--db (${db})`;
    throw usageError(
      "--log <path>",
      `names ${log}, ${role} ${which}: the demo would write its pino log into the SQLite audit store; give --log another path`,
    );
  }
}

/** `path` made absolute, through the symlinks on its way (the file too, when it exists). */
function resolvedPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return join(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** What `path` leads to (links followed), or undefined when nothing does or it cannot be seen. */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES: the checks of claimDemoFiles name the path
  }
}

/**
 * Removes the files the run created (after it failed or was interrupted: half a script's events are
 * no use, and they would make the next run refuse), and returns the paths it removed.
 */
export function removeCreated(files: DemoFiles): string[] {
  const removed: string[] = [];
  for (const file of files.created) {
    // Only a regular file: the run makes nothing else, so anything else is not its own.
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile() !== true) continue;
    rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}

/**
 * A read-only connection (query, stats, tail, verify) cannot delete the `-wal` and `-shm` files
 * SQLite makes for a store in WAL mode, so an empty `-wal` and a `-shm` outlive `rm audit.db`. Without
 * the database they hold nothing: an empty log has no pages, and `-shm` is only an index of the log,
 * rebuilt from it. Reused, a `-shm` still mapped by a process that has the deleted database open
 * would be shared with the new one; unlinked, it stays that process's own. So when the database is
 * absent or empty and its `-wal` absent or empty, both go. A `-wal` with content is left (and refused).
 */
function removeOrphanedWal(db: string): void {
  const emptyOrAbsent = (path: string) => {
    const found = lstatSync(path, { throwIfNoEntry: false });
    return found === undefined || (found.isFile() && found.size === 0);
  };
  const shm = lstatSync(`${db}-shm`, { throwIfNoEntry: false });
  if (!emptyOrAbsent(db) || !emptyOrAbsent(`${db}-wal`) || (shm !== undefined && !shm.isFile())) return;
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
}

function exists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
