import fs from "node:fs";
import path from "node:path";
import type { Database } from "better-sqlite3";
import { createPrivateFile, moveAside } from "./spool-file.js";

/**
 * The real path of the spool at `file` (symlinks resolved), creating it (empty, private) if needed,
 * so that every name of one file takes one lock. Throws, before the lock is taken (which would leave
 * `<file>.lock` beside a path that is no spool), for a path that is not a regular file, and for a
 * file with more than one hard link: each name of a file gets its own lock and its own -wal, so two
 * emitters could own it at once, and even one after the other SQLite would apply a -wal to a file
 * changed under another name since. A lock keyed on the inode would not mend the second.
 * @internal
 */
export function realSpoolPath(file: string): string {
  createPrivateFile(linkTarget(file));
  const real = fs.realpathSync(file);
  const stats = fs.statSync(real);
  if (!stats.isFile()) {
    throw new Error(stats.isDirectory() ? "it is a folder, not a file" : "it is not a regular file");
  }
  if (stats.nlink > 1) {
    throw new Error(
      `the file has ${stats.nlink} names (hard links), so another emitter could own it under another ` +
        `name. A spool has one name: remove its other links (\`find <mount point> -xdev -samefile ${real}\` ` +
        "lists them)",
    );
  }
  return real;
}

/**
 * The file a symlink at `file` ends at (each link followed), else `file`: a symlink to a file not made
 * yet (a first start, or a crash between moving a damaged spool aside and renaming its copy in) makes
 * the spool there. A loop is returned as found, for realpath to name (ELOOP).
 */
function linkTarget(file: string): string {
  let at = file;
  for (let hops = 0; hops < 32; hops++) {
    if (fs.lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return at;
    at = path.resolve(path.dirname(at), fs.readlinkSync(at));
  }
  return at;
}

/** Which file a path names: device and inode. @internal */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

/** The device and inode of `file`, or undefined when no file has that name. @internal */
export function fileId(file: string): FileId | undefined {
  const stats = fs.statSync(file, { throwIfNoEntry: false });
  return stats === undefined ? undefined : { dev: stats.dev, ino: stats.ino };
}

/** True when both name the same file. @internal */
export function sameFile(a: FileId | undefined, b: FileId | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/**
 * Copies the database open as `db` (its file deleted or replaced under it: only the handle reaches
 * it now) to a new private file beside `file`, with every committed row; returns the copy's name.
 * VACUUM INTO writes a consistent snapshot and needs an empty or missing target.
 * @internal
 */
export function copyOpenDatabase(db: Database, file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let copy = `${file}.copy-${stamp}`;
  for (let n = 2; fs.existsSync(copy); n++) copy = `${file}.copy-${stamp}-${n}`;
  createPrivateFile(copy);
  try {
    db.prepare("VACUUM INTO ?").run(copy);
  } catch (error) {
    fs.rmSync(copy, { force: true });
    throw error;
  }
  return copy;
}

/**
 * Clears `file`'s name for a new spool: a file found there is moved aside (see moveAside); without
 * one, the -wal and -shm left there are renamed to `<file>.deleted-<time>-wal`/`-shm`. SQLite keeps
 * the -wal of a database file deleted under it; applied to the new file, it would overwrite its pages.
 * Returns what was moved and where (the -wal and -shm take the name plus their suffix).
 * @internal
 */
export function clearSpoolPath(file: string): { found: "file" | "wal"; to: string } | undefined {
  if (fs.existsSync(file)) return { found: "file", to: moveAside(file) };
  const left = ["-wal", "-shm"].filter((suffix) => fs.existsSync(file + suffix));
  if (left.length === 0) return undefined;
  const to = `${file}.deleted-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  for (const suffix of left) fs.renameSync(file + suffix, to + suffix);
  return { found: "wal", to };
}
