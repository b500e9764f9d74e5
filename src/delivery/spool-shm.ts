import fs from "node:fs";
import os from "node:os";
import type { Database } from "better-sqlite3";

/** One copy of the wal-index header; the -shm file starts with two (sqlite.org/walformat.html). */
const HEADER_BYTES = 48;
/** The header's checksum covers the bytes before its own two words. */
const SUMMED_BYTES = 40;
const IS_INIT = 12;

/**
 * Keeps SQLite from blocking the event loop for ~10 s on a spool whose -shm index is invalid (zeroed,
 * cut short, overwritten) while another connection holds the write lock: to start a read, SQLite must
 * rebuild the index, which needs that lock, and it retries about 100 times with growing sleeps, ignoring
 * the busy timeout, before failing with SQLITE_PROTOCOL; every statement starts with a read, commits
 * included. So before each statement the spool reads the header as SQLite checks it (two equal copies,
 * initialised, checksum), and only when it is invalid asks SQLite for a passive checkpoint: that rebuilds
 * the index when the write lock is free, and answers "busy" at once when it is not. Then the statement
 * is refused as busy (tried again later, as for any lock held elsewhere) instead of waiting.
 *
 * The -shm is read through a descriptor held open until after SQLite closed the file: closing a
 * descriptor drops every POSIX lock this process holds on the file, SQLite's included.
 * @internal
 */
export class ShmGuard {
  readonly #db: Database;
  readonly #header = Buffer.alloc(2 * HEADER_BYTES);
  #fd: number | undefined;

  /** Opens `<file>-shm` for reading; without one (not in WAL mode yet) there is nothing to check. */
  constructor(db: Database, file: string) {
    this.#db = db;
    try {
      this.#fd = fs.openSync(`${file}-shm`, "r");
    } catch {
      this.#fd = undefined;
    }
  }

  /** Throws a SQLITE_BUSY error when the index is invalid and another connection holds the write lock. */
  check(): void {
    if (this.#fd === undefined) return;
    const read = fs.readSync(this.#fd, this.#header, 0, this.#header.length, 0);
    if (read === this.#header.length && headerValid(this.#header)) return;
    const [result] = this.#db.pragma("wal_checkpoint(PASSIVE)") as { busy?: number }[];
    if (result?.busy !== 1) return;
    throw Object.assign(
      new Error(
        "database is locked (its -shm index is invalid and must be rebuilt, which waits for another connection's write lock)",
      ),
      { code: "SQLITE_BUSY" },
    );
  }

  /** Lets go of the -shm: only once SQLite closed the database (see above). */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // Nothing to keep: the descriptor was only read.
    }
  }
}

/** SQLite's own test of a wal-index header (walIndexTryHdr): two equal copies, initialised, checksum. */
function headerValid(header: Buffer): boolean {
  if (header.compare(header, 0, HEADER_BYTES, HEADER_BYTES, 2 * HEADER_BYTES) !== 0) return false;
  if (header[IS_INIT] === 0) return false;
  // The checksum is over 32-bit words in this machine's byte order (the index is never moved across machines).
  const word = os.endianness() === "LE" ? header.readUInt32LE.bind(header) : header.readUInt32BE.bind(header);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < SUMMED_BYTES; i += 8) {
    s1 = (s1 + word(i) + s2) >>> 0;
    s2 = (s2 + word(i + 4) + s1) >>> 0;
  }
  return s1 === word(SUMMED_BYTES) && s2 === word(SUMMED_BYTES + 4);
}
