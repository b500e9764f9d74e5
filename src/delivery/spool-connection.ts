import fs from "node:fs";
import type { Database } from "better-sqlite3";
import { monotonicNow } from "./monotonic-now.js";
import { type SpoolConfig, spoolError } from "./spool-config.js";
import {
  asideName,
  describeProblem,
  leaveWalMode,
  moveAside,
  openSpoolFile,
  removeDatabase,
  SpoolFileError,
  salvageFile,
  sqliteCode,
} from "./spool-file.js";
import { clearSpoolPath, copyOpenDatabase, type FileId, fileId, sameFile } from "./spool-identity.js";
import { acquireSpoolLock, type SpoolLock } from "./spool-lock.js";
import { describeSalvage, salvageSpool } from "./spool-salvage.js";
import {
  dropSalvageRecord,
  readSalvageRecord,
  type SalvageRecord,
  writeSalvageRecord,
} from "./spool-salvage-record.js";
import type { Salvage, SpoolOperation } from "./spool-schema.js";
import { ShmGuard } from "./spool-shm.js";
import { prepareSpoolStatements, type SpoolStatements, spoolTotals } from "./spool-statements.js";

/** How often the commit tick checks that the spool's path still names its file (a stat call). */
const FILE_CHECK_MS = 1000;
/** SQLite's answers for a file another connection holds: worth trying again. */
const BUSY: ReadonlySet<string> = new Set(["SQLITE_BUSY", "SQLITE_LOCKED"]);

/** What the connection needs of the Spool's rows: counts for its reports, new totals on a new file. @internal */
export interface SpoolRows {
  /** Committed rows not yet delivered (`Spool.rows`). */
  readonly rows: number;
  /** Committed rows, delivered or not: what the file holds. */
  readonly committed: number;
  /** A new file is in use: its totals, and its statements to forget delivered rows it does not have. */
  use(totals: { rows: number; bytes: number; maxId: number }, sql: SpoolStatements): void;
}

/**
 * The SQLite file under a Spool, kept usable: opened under the spool's lock, moved aside and replaced
 * when damaged (its readable rows copied over), moved back to its path when deleted or replaced under
 * it, and let go (the spool closed for good) when neither can be done.
 * @internal
 */
export class SpoolConnection {
  readonly #config: SpoolConfig;
  readonly #rows: SpoolRows;
  #db!: Database;
  #sql!: SpoolStatements;
  /** Refuses a statement at once that SQLite would block the event loop on (see ShmGuard). */
  #shm: ShmGuard | undefined;
  readonly #lock: SpoolLock;
  #closed = false;
  /** The file the open connection writes to, to notice it deleted or replaced (see checkFile). */
  #fileId: FileId | undefined;
  /** monotonicNow() of the last checkFile that looked at the file. */
  #checkedAt = Number.NEGATIVE_INFINITY;

  /** `config.path` is the real path; `asGiven` the path as the caller named it (for the lock's errors). */
  constructor(config: SpoolConfig, asGiven: string, rows: SpoolRows) {
    this.#config = config;
    this.#rows = rows;
    const { label, path } = config.place;
    this.#lock = acquireSpoolLock(config.path, `${label}: ${path}spool.path ${asGiven}`);
    try {
      this.#open();
    } catch (error) {
      this.#lock.release();
      throw error;
    }
  }

  /** The open connection. */
  get db(): Database {
    return this.#db;
  }

  /** The statements prepared on the open connection. */
  get sql(): SpoolStatements {
    return this.#sql;
  }

  /** Closed: by close(), or given up (a damaged file that could not be replaced). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws before a statement SQLite would block the event loop on (see ShmGuard). */
  checkShm(): void {
    this.#shm?.check();
  }

  /** Closes the file and lets its lock go; a failing close is reported. */
  close(): void {
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
   * Checks that the spool still holds its lock (see #checkLock), before every commit: a stat, and a
   * second emitter that took a new lock file reads the rows it finds once, so a row committed after
   * would be left to nobody. Then, at most once per FILE_CHECK_MS unless `now`, that the path still
   * names the file the spool writes to. A file deleted (or replaced) under it would take every later row with it when the
   * process ends: its committed rows are copied to a new file at the path (a file found there is moved
   * aside first), and that is reported. When that fails, they are reported and counted as lost
   * ("spool_deleted"), and the spool gives up.
   */
  checkFile(now = false): void {
    if (this.#closed || !this.#checkLock()) return;
    const at = monotonicNow();
    if (!now && at - this.#checkedAt < FILE_CHECK_MS) return;
    this.#checkedAt = at;
    const found = fileId(this.#config.path);
    if (sameFile(found, this.#fileId)) return;
    this.#relocate(found === undefined ? "deleted" : "replaced by another file", now);
  }

  /**
   * A file found unusable during `operation` is moved aside and replaced, keeping what is appended;
   * when that fails, the spool gives up.
   */
  replaceDamaged(operation: SpoolOperation, error: unknown): void {
    this.#closeDb();
    try {
      this.#replace(error, { operation, rows: this.#rows.committed });
    } catch (replaceError) {
      this.#giveUp("could not replace a damaged spool", replaceError, 0);
    }
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
    const rows = `its ${this.#rows.rows} committed rows are left to that one`;
    this.#giveUp(
      `${problem}, and another emitter holds the new one: stopped using the spool; ${rows}`,
      undefined,
      0,
    );
    return false;
  }

  /** Moves the open spool to a new file at its path (see checkFile). */
  #relocate(what: string, now: boolean): void {
    const { path } = this.#config;
    const problem = `the file was ${what} while in use`;
    const rows = this.#rows.rows;
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
      aside = this.#moveIn(copy).aside;
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
    const message = `${problem}: ${moved}started a new file at the path with its ${this.#rows.committed} rows`;
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
    const salvaged = salvageFile(path);
    // A damaged file is never empty, so with one at the path a salvaged file is a partial copy of it.
    if (fs.existsSync(salvaged) && bytesAt(path) === 0 && bytesAt(`${path}-wal`) === 0) {
      this.#finishReplace(salvaged);
      return;
    }
    // Left by a crash while a file was replaced: a partial copy of the file still at the path.
    removeDatabase(salvaged);
    let db: Database | undefined;
    let unreported: SalvageRecord | undefined;
    try {
      db = openSpoolFile(path, synchronous);
      unreported = this.#use(db);
    } catch (error) {
      db?.close();
      if (!SpoolFileError.isUnusable(error)) throw error;
      this.#replace(error);
      return;
    }
    if (unreported !== undefined) {
      this.#report(
        unreported,
        "the last process stopped before it reported the file it replaced; its report: ",
      );
    }
  }

  /**
   * Puts in place the complete spool a process killed between moving a damaged file aside and renaming
   * the new file in left beside the path (the path holds only the empty file opening made: the damaged
   * file is moved aside only once the copy is complete), and makes the report that process wrote into
   * it. Without one (a spool salvaged by an older version) what that salvage lost is not known any
   * more: counted as uncounted.
   */
  #finishReplace(salvaged: string): void {
    fs.rmSync(this.#config.path);
    const { record } = this.#moveIn(salvaged);
    const found = `found ${salvaged}, a spool salvaged from a damaged file by a process that stopped before it put it in place`;
    if (record !== undefined) {
      this.#report(record, `${found}: put it in place; its report: `);
      return;
    }
    const rows = this.#rows.committed;
    const message =
      `${found}: started with its ${rows} rows; the damaged file is beside it (.corrupt-*), ` +
      "and how many rows it lost cannot be counted any more";
    this.#config.onError(spoolError(this.#config, message));
    this.#config.onMovedAside({ recovered: rows, lost: undefined });
  }

  /**
   * Makes the report of a salvage (see writeSalvageRecord), then removes it from the spool in use. The
   * report comes first: killed in between, the next start makes it again, rather than never.
   */
  #report(record: SalvageRecord, prefix = ""): void {
    this.#config.onError(spoolError(this.#config, prefix + record.message));
    this.#config.onMovedAside(record.salvage);
    try {
      dropSalvageRecord(this.#db);
    } catch (error) {
      const message =
        "could not remove the report of its salvage from the spool: the next start makes it again";
      this.#config.onError(spoolError(this.#config, message, error));
    }
  }

  /**
   * Prepares the statements on `db` and reads its totals (which reads every page of the table); returns
   * the report of a salvage it holds (see writeSalvageRecord).
   */
  #use(db: Database): SalvageRecord | undefined {
    this.#sql = prepareSpoolStatements(db);
    const totals = spoolTotals(db);
    const record = readSalvageRecord(db);
    this.#db = db;
    this.#fileId = fileId(this.#config.path);
    this.#shm = new ShmGuard(db, this.#config.path);
    this.#config.opened?.(db);
    this.#rows.use(totals, this.#sql);
    return record;
  }

  /**
   * Puts the complete spool file `file` at the spool's path, clearing the name first (see
   * clearSpoolPath), and uses it; returns what was moved aside, and the report of a salvage it holds.
   */
  #moveIn(file: string): { aside: ReturnType<typeof clearSpoolPath>; record: SalvageRecord | undefined } {
    const { path, synchronous } = this.#config;
    const aside = clearSpoolPath(path);
    fs.renameSync(file, path);
    const db = openSpoolFile(path, synchronous);
    try {
      return { aside, record: this.#use(db) };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Replaces the unusable file with a new spool; from a damaged spool, the rows that can still be read
   * are copied over. The new spool is made beside it (see salvageFile) and renamed into place once
   * complete, the old file moved aside just before: killed before that, the process leaves the old
   * file at the path, to be salvaged again. Reports what happened, and what was lost: the report is
   * written into the new spool before it is renamed in (see writeSalvageRecord), so a process killed
   * before it made the report leaves it to the next start. `during` is set
   * when the file failed while in use: it was this spool then, so it is salvaged whatever the error,
   * and its row count stands in for an unreadable tally.
   */
  #replace(error: unknown, during?: { operation: string; rows: number }): void {
    const { path, synchronous } = this.#config;
    // A file gone from its path cannot be moved aside (nor its rows read): the caller gives up.
    fs.accessSync(path);
    const temp = salvageFile(path);
    removeDatabase(temp);
    const newer = error instanceof SpoolFileError && error.kind === "newer";
    let salvage: Salvage | undefined;
    let aside: string;
    let record: SalvageRecord;
    const db = openSpoolFile(temp, synchronous);
    try {
      if (newer) {
        // Not read: an older version would drop the fields it does not know. Counted, left aside.
        salvage = { recovered: 0, lost: error.rows };
      } else if (during !== undefined || SpoolFileError.isDamage(error)) {
        const saved = salvageSpool(path, db);
        const counted =
          saved.lost ?? (during === undefined ? undefined : Math.max(0, during.rows - saved.recovered));
        // What a -wal that is not a WAL held can neither be read nor counted.
        salvage = { recovered: saved.recovered, lost: error instanceof SpoolFileError ? undefined : counted };
      }
      const problem = `${during === undefined ? "" : `${during.operation}: `}${describeProblem(error)}`;
      const started = describeSalvage(newer ? undefined : salvage);
      // Named before the report is written, which names it.
      aside = asideName(path);
      record = { message: `${problem}; moved it aside to ${aside} and ${started}`, salvage };
      writeSalvageRecord(db, record);
      leaveWalMode(db);
    } catch (salvageError) {
      db.close();
      removeDatabase(temp);
      throw salvageError;
    }
    db.close();
    moveAside(path, aside);
    this.#moveIn(temp);
    this.#report(record);
  }
}

/** The size of `file`; 0 when there is none. */
function bytesAt(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
