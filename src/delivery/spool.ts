import type { Database, Statement } from "better-sqlite3";
import { AuditEmitError, toError } from "../errors/index.js";
import { describeProblem, moveAside, openSpoolFile, SpoolFileError } from "./spool-file.js";
import { acquireSpoolLock, type SpoolLock } from "./spool-lock.js";
import { salvageSpool } from "./spool-salvage.js";
import type { Salvage } from "./spool-schema.js";

/** One spooled event. */
export interface SpoolRow {
  /** The pipeline's sequence number: rows are replayed in id order. */
  readonly id: number;
  readonly eventId: string;
  /** Dotted event kind ("authz.decision"). */
  readonly eventType: string;
  /** The encoded event (protobuf). */
  readonly bytes: Uint8Array;
}

/** Options of a Spool, resolved. */
export interface SpoolConfig {
  readonly path: string;
  readonly maxBytes: number;
  readonly synchronous: "full" | "normal";
  /** Names the owner in reported errors. */
  readonly name: string;
  readonly onError: (error: Error) => void;
  /** Called after an unusable file was moved aside: with what was salvaged when it was a damaged spool. */
  readonly onMovedAside: (salvage: Salvage | undefined) => void;
  /** For tests: sees each connection the spool opens (a test limits its max_page_count, as a full disk). */
  readonly opened?: ((db: Database) => void) | undefined;
  /**
   * Called once the spool closed for good (a damaged file that could not be replaced), while it still
   * holds the rows appended since the last commit: take them back (`discardPending`).
   */
  readonly onGivenUp: () => void;
}

/**
 * What `Spool.commit` did: the rows it wrote, or the error SQLite refused them with (disk full,
 * read-only, busy), the rows then still appended. @internal
 */
export type CommitResult =
  | { readonly committed: number; readonly error?: undefined }
  | { readonly committed: 0; readonly error: Error };

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
  #insert!: Statement<[number, string, string, Uint8Array, number]>;
  #select!: Statement<[number, number], { id: number; event_id: string; event_type: string; bytes: Buffer }>;
  #delete!: Statement<[number]>;
  #tally!: Statement<[number]>;
  #minId!: Statement<[], number | null>;
  #countUpTo!: Statement<[number], number>;
  readonly #lock: SpoolLock;
  #pending: (SpoolRow & { size: number })[] = [];
  #pendingBytes = 0;
  #rows = 0;
  #bytes = 0;
  #maxId = 0;
  #closed = false;
  /** Date.now() before which the spool takes no rows (see pause). */
  #pausedUntil = 0;

  constructor(config: SpoolConfig) {
    this.#config = config;
    this.#lock = acquireSpoolLock(config.path);
    try {
      this.#open();
    } catch (error) {
      this.#lock.release();
      throw error;
    }
  }

  /** Committed rows. */
  get rows(): number {
    return this.#rows;
  }

  /** Encoded bytes of the committed rows. */
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
      (this.#pausedUntil === 0 || Date.now() >= this.#pausedUntil)
    );
  }

  /**
   * Takes no rows (`fits` is false) for `ms`: a commit failed (disk full, read-only, busy), and is
   * tried again with what comes after that. Committed rows are still read and removed.
   */
  pause(ms: number): void {
    this.#pausedUntil = Date.now() + ms;
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
    if (this.#closed || this.#rows === 0) return Number.POSITIVE_INFINITY;
    try {
      return this.#minId.get() ?? Number.POSITIVE_INFINITY;
    } catch (error) {
      this.#failed("read", error);
      return Number.NEGATIVE_INFINITY; // unknown: not settled
    }
  }

  /** Rows, committed or appended, with an id of `seq` or lower (the rows left, once closed). */
  rowsUpTo(seq: number): number {
    let rows = 0;
    for (const row of this.#pending) if (row.id <= seq) rows++;
    if (this.#closed || this.#rows === 0) return rows + (this.#closed ? this.#rows : 0);
    try {
      return rows + (this.#countUpTo.get(seq) ?? 0);
    } catch (error) {
      this.#failed("read", error);
      return rows + this.#rows;
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
      this.#db.transaction(() => {
        for (const row of rows) this.#insert.run(row.id, row.eventId, row.eventType, row.bytes, row.size);
        this.#tally.run(rows.length);
      })();
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
    if (this.#closed || this.#rows === 0) return [];
    let found: { id: number; event_id: string; event_type: string; bytes: Buffer }[];
    try {
      found = this.#select.all(afterId, maxRows);
    } catch (error) {
      this.#failed("read", error);
      return [];
    }
    const rows: SpoolRow[] = [];
    let bytes = 0;
    for (const row of found) {
      bytes += row.bytes.length;
      if (rows.length > 0 && bytes > maxBytes) break;
      rows.push({ id: row.id, eventId: row.event_id, eventType: row.event_type, bytes: row.bytes });
    }
    return rows;
  }

  /** Deletes rows the sink acknowledged, by id (never by range: an older row may have been added since). */
  remove(rows: readonly SpoolRow[]): void {
    if (this.#closed || rows.length === 0) return;
    let deleted = 0;
    let bytes = 0;
    try {
      this.#db.transaction(() => {
        for (const row of rows) {
          // A row salvaged from a damaged file may be missing: count only what was there.
          if (this.#delete.run(row.id).changes === 0) continue;
          deleted++;
          bytes += row.bytes.length;
        }
        this.#tally.run(-deleted);
      })();
    } catch (error) {
      this.#failed("delete", error);
      return;
    }
    this.#rows -= deleted;
    this.#bytes -= bytes;
  }

  /** Forgets the appended, uncommitted rows and returns them (for counting after a failed last commit). */
  discardPending(): SpoolRow[] {
    const rows = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return rows;
  }

  /** Commits what is appended and closes the file. */
  close(): void {
    if (this.#closed) return;
    // close() committed (or counted) what was appended before: nothing is left for this one to refuse.
    this.commit();
    this.#closed = true;
    try {
      this.#db.close();
    } catch (error) {
      this.#config.onError(spoolError(this.#config, "close failed", error));
    }
    this.#lock.release();
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
    this.#insert = db.prepare(
      "INSERT INTO spool (id, event_id, event_type, bytes, size) VALUES (?, ?, ?, ?, ?)",
    );
    this.#select = db.prepare(
      "SELECT id, event_id, event_type, bytes FROM spool WHERE id > ? ORDER BY id LIMIT ?",
    );
    this.#delete = db.prepare("DELETE FROM spool WHERE id = ?");
    this.#tally = db.prepare("UPDATE spool_tally SET rows = rows + ?");
    this.#minId = db.prepare<[], number | null>("SELECT min(id) FROM spool").pluck();
    this.#countUpTo = db.prepare<[number], number>("SELECT count(*) FROM spool WHERE id <= ?").pluck();
    const totals = db
      .prepare(
        "SELECT count(*) AS rows, coalesce(sum(size), 0) AS bytes, coalesce(max(id), 0) AS maxId FROM spool",
      )
      .get() as { rows: number; bytes: number; maxId: number };
    this.#db = db;
    this.#config.opened?.(db);
    this.#rows = totals.rows;
    this.#bytes = totals.bytes;
    this.#maxId = Math.max(this.#maxId, totals.maxId);
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
      spoolError(this.#config, `${problem}; moved it aside to ${to} and ${started(salvage)}`),
    );
    this.#config.onMovedAside(salvage);
  }

  /** Reports a failed operation; a file found unusable is moved aside and replaced, keeping what is appended. */
  #failed(operation: string, error: unknown): void {
    if (!SpoolFileError.isUnusable(error)) {
      this.#config.onError(spoolError(this.#config, `${operation} failed`, error));
      return;
    }
    try {
      this.#db.close();
    } catch {
      // The file is being replaced; a failing close changes nothing.
    }
    try {
      this.#replace(error, { operation, rows: this.#rows });
    } catch (replaceError) {
      this.#closed = true;
      this.#lock.release();
      this.#config.onError(spoolError(this.#config, "could not replace a damaged spool", replaceError));
      this.#config.onGivenUp();
    }
  }
}

/** The end of the report of a file moved aside: what the new spool started with, what was lost. */
function started(salvage: Salvage | undefined): string {
  if (salvage === undefined) return "started an empty spool";
  const { recovered, lost } = salvage;
  const rows = (n: number) => (n === 1 ? "1 row" : `${n} rows`);
  const loss =
    lost === undefined
      ? "an unknown number of rows may be lost (they cannot be counted)"
      : lost === 0
        ? "no row was lost"
        : `${rows(lost)} could not be read and ${lost === 1 ? "is" : "are"} lost`;
  return `started a new spool with the ${rows(recovered)} that could be read; ${loss}`;
}

function spoolError(config: SpoolConfig, message: string, cause?: unknown): AuditEmitError {
  const text = `spool ${config.path}: ${message}`;
  return cause === undefined
    ? new AuditEmitError(config.name, text)
    : new AuditEmitError(config.name, text, { cause: toError(cause) });
}
