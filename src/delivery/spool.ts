import { toError } from "../errors/index.js";
import { monotonicNow } from "./monotonic-now.js";
import { type SpoolConfig, spoolError } from "./spool-config.js";
import { SpoolConnection } from "./spool-connection.js";
import { loadSqlite, SpoolFileError } from "./spool-file.js";
import { realSpoolPath } from "./spool-identity.js";
import type { CommitResult, SpoolOperation, SpoolRow } from "./spool-schema.js";
import { deleteRows, insertRows, type RowData, readPast } from "./spool-statements.js";

export type { CommitResult, SpoolOperation, SpoolRow } from "./spool-schema.js";

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
  /** The file, kept usable under the spool (see SpoolConnection). */
  readonly #file: SpoolConnection;
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
  /** What SQLite said when it last refused a read or a delete without damage. */
  #lastRefusal: Error | undefined;
  /** monotonicNow() before which the spool takes no rows (see pause). */
  #pausedUntil = 0;

  constructor(config: SpoolConfig) {
    // Without better-sqlite3 nothing is made: neither an empty spool file nor its lock file.
    loadSqlite(config.place);
    // One file, one lock, whatever name (a symlink, `..`) it is reached by.
    const path = realSpoolPath(config.path);
    this.#config = path === config.path ? config : { ...config, path };
    const spool = this;
    this.#file = new SpoolConnection(this.#config, config.path, {
      get rows() {
        return spool.rows;
      },
      get committed() {
        return spool.#rows;
      },
      use(totals, sql) {
        spool.#rows = totals.rows;
        spool.#bytes = totals.bytes;
        spool.#maxId = Math.max(spool.#maxId, totals.maxId);
        // A replacement file holds only what could be salvaged: forget delivered rows it does not have.
        for (const id of [...spool.#undeleted.keys()]) if (sql.has.get(id) === 0) spool.#undeleted.delete(id);
      },
    });
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
    return this.#file.closed;
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
      !this.#file.closed &&
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
    if (this.#file.closed || !this.fits(size)) return false;
    this.#pending.push({ ...row, size });
    this.#pendingBytes += size;
    return true;
  }

  /** Smallest id among the committed rows (Infinity when none, or once closed). */
  minCommittedId(): number {
    if (this.#file.closed || this.rows === 0) return Number.POSITIVE_INFINITY;
    try {
      this.#file.checkShm();
      if (this.#undeleted.size === 0) return this.#file.sql.minId.get() ?? Number.POSITIVE_INFINITY;
      for (const id of this.#file.sql.ids.iterate()) if (!this.#undeleted.has(id)) return id;
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
    if (this.#file.closed || this.rows === 0) return rows + (this.#file.closed ? this.rows : 0);
    let undeleted = 0;
    for (const id of this.#undeleted.keys()) if (id <= seq) undeleted++;
    try {
      this.#file.checkShm();
      return rows + Math.max(0, (this.#file.sql.countUpTo.get(seq) ?? 0) - undeleted);
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
    if (rows.length === 0 || this.#file.closed) return { committed: 0 };
    try {
      this.#file.checkShm();
      insertRows(this.#file.db, this.#file.sql, rows);
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
    if (this.#file.closed || this.rows === 0) return [];
    let found: RowData[];
    try {
      this.#file.checkShm();
      found =
        this.#undeleted.size === 0
          ? this.#file.sql.select.all(afterId, maxRows)
          : readPast(this.#file.sql, afterId, maxRows, this.#undeleted);
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
    if (this.#file.closed) return true;
    for (const row of rows) this.#undeleted.set(row.id, row.bytes.length);
    if (this.#undeleted.size === 0) return true;
    let gone: { deleted: number; bytes: number };
    try {
      this.#file.checkShm();
      gone = deleteRows(this.#file.db, this.#file.sql, this.#undeleted);
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
    if (this.#file.closed) return;
    this.checkFile(true);
    // close() committed (or counted) what was appended before: nothing is left for this one to refuse.
    this.commit();
    if (!this.retryRemove() && !this.#file.closed) {
      const n = this.#undeleted.size;
      const rows = n === 1 ? "1 row the sink took" : `${n} rows the sink took`;
      const message = `${rows} could not be deleted; the next emitter on this spool delivers ${n === 1 ? "it" : "them"} again`;
      this.#config.onError(spoolError(this.#config, message, this.#lastRefusal));
    }
    if (this.#file.closed) return; // given up meanwhile: the file and its lock are already let go
    this.#file.close();
  }

  /** Checks that the path still names the spool's file (see SpoolConnection.checkFile). */
  checkFile(now = false): void {
    this.#file.checkFile(now);
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
    this.#file.replaceDamaged(operation, error);
  }
}
