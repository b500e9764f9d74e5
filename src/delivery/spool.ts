import fs from "node:fs";
import type { Database } from "better-sqlite3";
import { toError } from "../errors/index.js";
import { monotonicNow } from "./monotonic-now.js";
import { type SpoolConfig, spoolError } from "./spool-config.js";
import { describeProblem, moveAside, openSpoolFile, SpoolFileError, sqliteCode } from "./spool-file.js";
import {
  clearSpoolPath,
  copyOpenDatabase,
  type FileId,
  fileId,
  realSpoolPath,
  sameFile,
} from "./spool-identity.js";
import { acquireSpoolLock, type SpoolLock } from "./spool-lock.js";
import { describeSalvage, salvageSpool } from "./spool-salvage.js";
import type { CommitResult, Salvage, SpoolOperation, SpoolRow } from "./spool-schema.js";
import { ShmGuard } from "./spool-shm.js";
import {
  deleteRows,
  insertRows,
  prepareSpoolStatements,
  type RowData,
  readPast,
  type SpoolStatements,
  spoolTotals,
} from "./spool-statements.js";

export type { CommitResult, SpoolOperation, SpoolRow } from "./spool-schema.js";

/** How often the commit tick checks that the spool's path still names its file (a stat call). */
const FILE_CHECK_MS = 1000;
/** SQLite's answers for a file another connection holds: worth trying again. */
const BUSY: ReadonlySet<string> = new Set(["SQLITE_BUSY", "SQLITE_LOCKED"]);

/**
 * The durable spool: encoded events in a SQLite file in WAL mode.
 *
 * `append` only buffers in memory; `commit` writes everything appended since the last commit in one
 * transaction (the pipeline calls it once per `commitIntervalMs`: a group commit). Rows leave the file
 * only through `remove`, which the pipeline calls after the sink acknowledged them. `maxBytes` bounds
 * the encoded bytes of committed plus appended rows.
 *
 * One owner per file: the constructor takes the spool's lock (see acquireSpoolLock) and throws an
 * AuditConfigError naming the holder when another emitter, here or in another process, has it.
 *
 * A file that is not a SQLite database or has another schema, is reported through `onError`, moved
 * aside to `<path>.corrupt-<time>` and replaced by an empty spool. A damaged spool (bad pages, cut
 * short, a -wal that is not a WAL), found at start or later, is moved aside the same way, and the
 * rows that can still be read are copied into the new spool; what was lost is reported and counted
 * (onMovedAside). A file is never deleted, and its damage never crashes the process.
 * @internal
 */
export class Spool {
  readonly #config: SpoolConfig;
  #db!: Database;
  #sql!: SpoolStatements;
  /** Refuses a statement at once that SQLite would block the event loop on (see ShmGuard). */
  #shm: ShmGuard | undefined;
  readonly #lock: SpoolLock;
  #pending: (SpoolRow & { size: number })[] = [];
  /**
   * Rows the sink took whose delete SQLite refused (id to size): still in the file, never read again,
   * deleted with the next delete that succeeds. Without it they were read and sent again at once.
   */
  readonly #undeleted = new Map<number, number>();
  /** Reads SQLite refused in a row (the pump waits a backoff delay before the next). */
  #readFailures = 0;
  #pendingBytes = 0;
  #rows = 0;
  #bytes = 0;
  #maxId = 0;
  #closed = false;
  /** What SQLite said when it last refused a read or a delete without damage. */
  #lastRefusal: Error | undefined;
  /** monotonicNow() before which the spool takes no rows (see pause). */
  #pausedUntil = 0;
  /** The file the open connection writes to, to notice it deleted or replaced (see checkFile). */
  #fileId: FileId | undefined;
  /** monotonicNow() of the last checkFile that looked at the file. */
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(config: SpoolConfig) {
    // One file, one lock, whatever name (a symlink, `..`) it is reached by.
    const path = realSpoolPath(config.path);
    this.#config = path === config.path ? config : { ...config, path };
    this.#lock = acquireSpoolLock(path, config.path);
    try {
      this.#open();
    } catch (error) {
      this.#lock.release();
      throw error;
    }
  }

  /** Committed rows not yet delivered (rows delivered but not yet deleted are not counted). */
  get rows(): number {
    return Math.max(0, this.#rows - this.#undeleted.size);
  }

  /** Rows delivered whose delete SQLite refused: still in the file, never read again. */
  get undeletedRows(): number {
    return this.#undeleted.size;
  }

  /** Reads SQLite refused in a row, without damage (0 after one that succeeded). */
  get readFailures(): number {
    return this.#readFailures;
  }

  /** Encoded bytes of the committed rows (those delivered but not yet deleted included: the file holds them). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Rows appended and not yet committed. */
  get pendingRows(): number {
    return this.#pending.length;
  }

  /** Closed: by close(), or given up (a damaged file that could not be replaced). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Largest row id ever committed to this file (0 for a new spool). */
  get maxId(): number {
    return this.#maxId;
  }

  /**
   * True when an event of `size` bytes still fits within maxBytes; never once closed (a damaged file
   * that could not be replaced closes it too), so events stay in memory instead of being handed over.
   */
  fits(size: number): boolean {
    return (
      !this.#closed &&
      this.#bytes + this.#pendingBytes + size <= this.#config.maxBytes &&
      (this.#pausedUntil === 0 || monotonicNow() >= this.#pausedUntil)
    );
  }

  /**
   * Takes no rows (`fits` is false) for `ms`: a commit failed (disk full, read-only, busy), and is
   * tried again with what comes after that. Committed rows are still read and removed.
   */
  pause(ms: number): void {
    this.#pausedUntil = monotonicNow() + ms;
  }

  /** Takes rows again at once (close() tries a last commit whatever failed before). */
  resume(): void {
    this.#pausedUntil = 0;
  }

  /** Buffers a row for the next commit; false (and nothing buffered) when it does not fit. */
  append(row: SpoolRow): boolean {
    const size = row.bytes.length;
    if (this.#closed || !this.fits(size)) return false;
    this.#pending.push({ ...row, size });
    this.#pendingBytes += size;
    return true;
  }

  /** Smallest id among the committed rows (Infinity when none, or once closed). */
  minCommittedId(): number {
    if (this.#closed || this.rows === 0) return Number.POSITIVE_INFINITY;
    try {
      this.#shm?.check();
      if (this.#undeleted.size === 0) return this.#sql.minId.get() ?? Number.POSITIVE_INFINITY;
      for (const id of this.#sql.ids.iterate()) if (!this.#undeleted.has(id)) return id;
      return Number.POSITIVE_INFINITY;
    } catch (error) {
      this.#failed("read", error);
      return Number.NEGATIVE_INFINITY; // unknown: not settled
    }
  }

  /** Rows, committed or appended, with an id of `seq` or lower (the rows left, once closed). */
  rowsUpTo(seq: number): number {
    let rows = 0;
    for (const row of this.#pending) if (row.id <= seq) rows++;
    if (this.#closed || this.rows === 0) return rows + (this.#closed ? this.rows : 0);
    let undeleted = 0;
    for (const id of this.#undeleted.keys()) if (id <= seq) undeleted++;
    try {
      this.#shm?.check();
      return rows + Math.max(0, (this.#sql.countUpTo.get(seq) ?? 0) - undeleted);
    } catch (error) {
      this.#failed("read", error);
      return rows + this.rows;
    }
  }

  /** Smallest id among the appended, uncommitted rows (Infinity when none). */
  minPendingId(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const row of this.#pending) min = Math.min(min, row.id);
    return min;
  }

  /**
   * Writes every appended row in one transaction; returns how many. When SQLite refuses them (disk
   * full, read-only, busy: the file is fine) the rows stay appended and the error is returned, for
   * the caller to report and act on. A damaged file is replaced (see #failed), keeping the rows.
   */
  commit(): CommitResult {
    const rows = this.#pending;
    if (rows.length === 0 || this.#closed) return { committed: 0 };
    try {
      this.#shm?.check();
      insertRows(this.#db, this.#sql, rows);
    } catch (error) {
      if (!SpoolFileError.isUnusable(error)) return { committed: 0, error: toError(error) };
      this.#failed("commit", error);
      return { committed: 0 };
    }
    this.#pending = [];
    this.#rows += rows.length;
    this.#bytes += this.#pendingBytes;
    this.#pendingBytes = 0;
    for (const row of rows) this.#maxId = Math.max(this.#maxId, row.id);
    return { committed: rows.length };
  }

  /**
   * The oldest committed rows with an id above `afterId`: at most `maxRows`, and at most `maxBytes`
   * unless the first alone is larger.
   */
  read(maxRows: number, maxBytes: number, afterId = 0): SpoolRow[] {
    if (this.#closed || this.rows === 0) return [];
    let found: RowData[];
    try {
      this.#shm?.check();
      found =
        this.#undeleted.size === 0
          ? this.#sql.select.all(afterId, maxRows)
          : readPast(this.#sql, afterId, maxRows, this.#undeleted);
    } catch (error) {
      this.#failed("read", error);
      return [];
    }
    this.#readFailures = 0;
    const rows: SpoolRow[] = [];
    let bytes = 0;
    for (const row of found) {
      bytes += row.bytes.length;
      if (rows.length > 0 && bytes > maxBytes) break;
      rows.push({ id: row.id, eventId: row.event_id, eventType: row.event_type, bytes: row.bytes });
    }
    return rows;
  }

  /**
   * Deletes rows the sink acknowledged (or that are dropped), by id (never by range: an older row may
   * have been added since), with those whose delete failed before. When SQLite refuses (disk full,
   * read-only, busy) the rows are remembered as delivered: never read again, deleted by the next delete
   * that succeeds (see retryRemove); false then.
   */
  remove(rows: readonly SpoolRow[]): boolean {
    if (this.#closed) return true;
    for (const row of rows) this.#undeleted.set(row.id, row.bytes.length);
    if (this.#undeleted.size === 0) return true;
    let gone: { deleted: number; bytes: number };
    try {
      this.#shm?.check();
      gone = deleteRows(this.#db, this.#sql, this.#undeleted);
    } catch (error) {
      // Remembered: a damaged file is replaced with its readable rows, these among them.
      this.#failed("delete", error);
      return false;
    }
    this.#undeleted.clear();
    this.#rows -= gone.deleted;
    this.#bytes -= gone.bytes;
    return true;
  }

  /** Tries again to delete the rows delivered whose delete failed; true once none is left. */
  retryRemove(): boolean {
    return this.#undeleted.size === 0 || this.remove([]);
  }

  /** Forgets the appended, uncommitted rows and returns them (for counting after a failed last commit). */
  discardPending(): SpoolRow[] {
    const rows = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return rows;
  }

  /**
   * Commits what is appended, deletes what was delivered, and closes the file. Rows delivered that still
   * cannot be deleted are reported: the next emitter on the file delivers them again.
   */
  close(): void {
    if (this.#closed) return;
    this.checkFile(true);
    // close() committed (or counted) what was appended before: nothing is left for this one to refuse.
    this.commit();
    if (!this.retryRemove() && !this.#closed) {
      const n = this.#undeleted.size;
      const rows = n === 1 ? "1 row the sink took" : `${n} rows the sink took`;
      const message = `${rows} could not be deleted; the next emitter on this spool delivers ${n === 1 ? "it" : "them"} again`;
      this.#config.onError(spoolError(this.#config, message, this.#lastRefusal));
    }
    if (this.#closed) return; // given up meanwhile: the file and its lock are already let go
    this.#closed = true;
    try {
      this.#db.close();
    } catch (error) {
      this.#config.onError(spoolError(this.#config, "close failed", error));
    }
    this.#shm?.close();
    this.#lock.release();
  }

  /**
   * Checks, at most once per FILE_CHECK_MS unless `now`, that the path still names the file the spool
   * writes to. A file deleted (or replaced) under it would take every later row with it when the
   * process ends: its committed rows are copied to a new file at the path (a file found there is moved
   * aside first), and that is reported. When that fails, they are reported and counted as lost
   * ("spool_deleted"), and the spool gives up.
   */
  checkFile(now = false): void {
    if (this.#closed) return;
    const at = monotonicNow();
    if (!now && at - this.#checkedAt < FILE_CHECK_MS) return;
    this.#checkedAt = at;
    if (!this.#checkLock()) return;
    const found = fileId(this.#config.path);
    if (sameFile(found, this.#fileId)) return;
    this.#relocate(found === undefined ? "deleted" : "replaced by another file", now);
  }

  /**
   * A lock file deleted or replaced keeps no second owner out: the new one is locked, or, when another
   * emitter got it first, this one stops using the spool (false), leaving its rows to that one.
   */
  #checkLock(): boolean {
    const lock = this.#lock.check();
    if (lock === "held") return true;
    const problem = `the lock file ${this.#lock.path} was deleted or replaced while in use`;
    if (lock === "retaken") {
      const message = `${problem}: locked the new one (never delete a spool's lock file)`;
      this.#config.onError(spoolError(this.#config, message));
      return true;
    }
    this.#closeDb();
    const rows = `its ${this.rows} committed rows are left to that one`;
    this.#giveUp(
      `${problem}, and another emitter holds the new one: stopped using the spool; ${rows}`,
      undefined,
      0,
    );
    return false;
  }

  /** Moves the open spool to a new file at its path (see checkFile). */
  #relocate(what: string, now: boolean): void {
    const { path, synchronous } = this.#config;
    const problem = `the file was ${what} while in use`;
    const rows = this.rows;
    let copy: string;
    try {
      copy = copyOpenDatabase(this.#db, path);
    } catch (error) {
      // Busy (another connection writes): tried again at the next check.
      if (!now && BUSY.has(sqliteCode(error) ?? "")) return;
      this.#closeDb();
      this.#giveUp(`${problem}, and its ${rows} rows could not be copied: they are lost`, error, rows);
      return;
    }
    this.#closeDb();
    let aside: ReturnType<typeof clearSpoolPath>;
    try {
      aside = clearSpoolPath(path);
      fs.renameSync(copy, path);
      const db = openSpoolFile(path, synchronous);
      try {
        this.#use(db);
      } catch (error) {
        db.close();
        throw error;
      }
    } catch (error) {
      this.#giveUp(
        `${problem}, and a new file could not be opened there: its ${rows} rows are left in ${copy}`,
        error,
        0,
      );
      return;
    }
    const moved =
      aside === undefined
        ? ""
        : aside.found === "file"
          ? `moved the file found there aside to ${aside.to}, `
          : `moved the -wal and -shm it left aside to ${aside.to}-wal and -shm, `;
    const message = `${problem}: ${moved}started a new file at the path with its ${this.#rows} rows`;
    this.#config.onError(spoolError(this.#config, message));
  }

  /** Closes the connection (its file is being let go); a failing close changes nothing. */
  #closeDb(): void {
    try {
      this.#db.close();
    } catch {
      // The file is being let go: nothing to do about it.
    }
    this.#shm?.close();
  }

  /** The spool closes for good: reports why, counts `lost` rows, lets the file and its lock go. */
  #giveUp(message: string, cause: unknown, lost: number): void {
    this.#closed = true;
    this.#lock.release();
    this.#config.onError(spoolError(this.#config, message, cause));
    if (lost > 0) this.#config.onLost(lost);
    this.#config.onGivenUp();
  }

  #open(): void {
    const { path, synchronous } = this.#config;
    let db: Database | undefined;
    try {
      db = openSpoolFile(path, synchronous);
      this.#use(db);
    } catch (error) {
      db?.close();
      if (!SpoolFileError.isUnusable(error)) throw error;
      this.#replace(error);
    }
  }

  /** Prepares the statements on `db` and reads its totals (which reads every page of the table). */
  #use(db: Database): void {
    this.#sql = prepareSpoolStatements(db);
    const totals = spoolTotals(db);
    this.#db = db;
    this.#fileId = fileId(this.#config.path);
    this.#shm = new ShmGuard(db, this.#config.path);
    this.#config.opened?.(db);
    this.#rows = totals.rows;
    this.#bytes = totals.bytes;
    this.#maxId = Math.max(this.#maxId, totals.maxId);
    // A replacement file holds only what could be salvaged: forget delivered rows it does not have.
    for (const id of [...this.#undeleted.keys()]) if (this.#sql.has.get(id) === 0) this.#undeleted.delete(id);
  }

  /**
   * Moves the unusable file aside and starts a new spool in its place; from a damaged spool, the rows
   * that can still be read are copied over. Reports what happened, and what was lost. `during` is set
   * when the file failed while in use: it was this spool then, so it is salvaged whatever the error,
   * and its row count stands in for an unreadable tally.
   */
  #replace(error: unknown, during?: { operation: string; rows: number }): void {
    const { path, synchronous } = this.#config;
    const to = moveAside(path);
    const db = openSpoolFile(path, synchronous);
    let salvage: Salvage | undefined;
    try {
      if (during !== undefined || SpoolFileError.isDamage(error)) {
        const saved = salvageSpool(to, db);
        const counted =
          saved.lost ?? (during === undefined ? undefined : Math.max(0, during.rows - saved.recovered));
        // What a -wal that is not a WAL held can neither be read nor counted.
        salvage = { recovered: saved.recovered, lost: error instanceof SpoolFileError ? undefined : counted };
      }
      this.#use(db);
    } catch (useError) {
      db.close();
      throw useError;
    }
    const problem = `${during === undefined ? "" : `${during.operation}: `}${describeProblem(error)}`;
    this.#config.onError(
      spoolError(this.#config, `${problem}; moved it aside to ${to} and ${describeSalvage(salvage)}`),
    );
    this.#config.onMovedAside(salvage);
  }

  /**
   * Reports a failed operation (a refusal without damage through onRefused, once per interval); a file
   * found unusable is moved aside and replaced, keeping what is appended.
   */
  #failed(operation: SpoolOperation, error: unknown): void {
    if (!SpoolFileError.isUnusable(error)) {
      this.#lastRefusal = toError(error);
      if (operation === "read") this.#readFailures++;
      this.#config.onRefused(operation, this.#lastRefusal);
      return;
    }
    this.#closeDb();
    try {
      this.#replace(error, { operation, rows: this.#rows });
    } catch (replaceError) {
      this.#giveUp("could not replace a damaged spool", replaceError, 0);
    }
  }
}
