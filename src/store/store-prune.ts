import type { Database } from "better-sqlite3";
import {
  checkPruneOptions,
  cutReport,
  type PruneOptions,
  type PruneReport,
  type PruneRow,
  startPrunePlan,
} from "./prune-plan.js";
import { sleepSync } from "./sleep-sync.js";
import type { StoreWriter } from "./store-writer.js";
import { IN_POSITION_RANGE } from "./stored-rows.js";

const NOT_PRUNED = "nothing was pruned";

/** Older events one statement of a `cutChains` prune deletes, by the time index. */
const CUT_ROWS = 1000;

/**
 * How long one delete transaction deletes in the order read before it goes on to a cut of each chain
 * it left partway (a row before one of its checkpoints: often some hundred ms more), then commits
 * and lets writers in; its commit (and the checkpoint of what it wrote) adds about as much again. A
 * time, not a row count: a row costs from a few to hundreds of µs (index pages of random ids, cold
 * pages, a busy machine). Each transaction writes every index page it touched: on bench/prune.ts's
 * data, 200 ms took 30,000 rows per transaction, 100 ms only 6,000, and the whole prune three times
 * as long.
 */
const BATCH_MS = 200;

/**
 * Pause after a delete transaction. SQLite's busy handler sleeps 1, 2, 5, ... 25 ms between tries,
 * 50 ms after 128 ms of waiting, 100 ms after 228: a writer that began waiting during a transaction
 * of `batchMs` sleeps at most half that long (25 ms at least, 100 at most). Paused that long, the
 * lock is free when it tries again; without a pause this connection would take it back first every
 * time.
 */
function pauseAfter(batchMs: number): void {
  sleepSync(Math.min(100, Math.max(25, batchMs / 2)));
}

/** How a prune's delete transactions run, for tests. @internal */
export interface PruneTuning {
  /** How long a delete transaction deletes at least. Default: BATCH_MS (200). */
  batchMs?: number;
  /** Called after each delete transaction commits, with the events deleted so far. Default: none. */
  committed?: (deleted: number) => void;
}

/**
 * `AuditStore.pruneReport` of the store open as `db`: its writer is undefined when it was opened
 * read-only, and then only a `dryRun` is answered (`readOnly` is the error otherwise).
 * @internal
 */
export function storePrune(
  db: Database,
  writer: StoreWriter | undefined,
  readOnly: () => Error,
  tuning: PruneTuning = {},
): (options: PruneOptions) => PruneReport {
  const batchMs = tuning.batchMs ?? BATCH_MS;
  /**
   * Every row as the prune plan reads it, in insertion order. Not those above the position range:
   * their position would round to another row's, which the delete would remove; they stay.
   */
  const pruneRows = db.prepare(
    `SELECT seq position, occurred_at_ms occurredAtMs, event FROM events WHERE ${IN_POSITION_RANGE} ORDER BY seq`,
  );
  /** The rows stored after position `?`: insertion order is commit order, one writer at a time. */
  const arrivedRows = db.prepare(
    `SELECT seq position, occurred_at_ms occurredAtMs, event FROM events WHERE seq > ? AND ${IN_POSITION_RANGE} ORDER BY seq`,
  );

  /**
   * Runs `batch` in IMMEDIATE transactions, each of at least about BATCH_MS, with a pause between
   * them, until one says it was the last; returns how many rows they deleted.
   */
  const inBatches = (to: StoreWriter, batch: (untilMs: number) => { deleted: number; last: boolean }) => {
    let deleted = 0;
    for (;;) {
      const startMs = performance.now();
      const done = to.remove(
        () => db.transaction(() => batch(startMs + batchMs)).immediate(),
        (result) => result.deleted,
        deleted === 0 ? NOT_PRUNED : `the prune stopped after ${deleted} events were deleted`,
      );
      deleted += done.deleted;
      tuning.committed?.(deleted);
      if (done.last) return deleted;
      pauseAfter(performance.now() - startMs);
    }
  };

  return (options) => {
    checkPruneOptions(options, "audit store");
    // SQLite would refuse the deletes with its own "attempt to write a readonly database".
    if (writer === undefined && options.dryRun !== true) throw readOnly();
    const beforeMs = options.before.getTime();
    if (options.cutChains === true) {
      if (options.dryRun === true || writer === undefined) {
        const count = db.prepare("SELECT count(*) FROM events WHERE occurred_at_ms < ?");
        return cutReport(Number(count.pluck().get(beforeMs)));
      }
      // Prepared here, as removeRow below: a store of an earlier schema opened read-only reads
      // `events` as a view, which takes no DELETE.
      const cutRows = db.prepare(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE occurred_at_ms < ? ORDER BY occurred_at_ms LIMIT ?)",
      );
      // Until a transaction finds none left: events stored older meanwhile go too, as they would
      // in one transaction after them.
      return cutReport(
        inBatches(writer, (untilMs) => {
          let deleted = 0;
          for (;;) {
            const gone = cutRows.run(beforeMs, CUT_ROWS).changes;
            deleted += gone;
            if (gone < CUT_ROWS) return { deleted, last: true };
            if (performance.now() >= untilMs) return { deleted, last: false };
          }
        }),
      );
    }
    // The plan is read from one snapshot without the write lock: writers go on meanwhile.
    const plan = startPrunePlan(beforeMs);
    let lastSeen = Number.NEGATIVE_INFINITY;
    for (const row of pruneRows.iterate() as Iterable<PruneRow>) {
      plan.add(row);
      lastSeen = row.position;
    }
    if (options.dryRun === true || writer === undefined) return plan.finish().report;
    const removeRow = db.prepare("DELETE FROM events WHERE seq = ?");
    // Each transaction first reads the rows stored since the last one: they bound their chain's
    // prefix, unless rows it already deleted are above where that would end it (then such a row
    // counts as stored after the prune). So no chain starts anew below its checkpoint. Past its time,
    // it deletes up to a cut of each chain it left partway (`toCut`), and only then commits: the
    // store verifies after each commit, so a prune killed between two leaves a store that verifies,
    // and the next one finishes it.
    const deleted = inBatches(writer, (untilMs) => {
      for (const row of arrivedRows.iterate(lastSeen) as Iterable<PruneRow>) {
        plan.keep(row);
        lastSeen = row.position;
      }
      let gone = 0;
      let position = plan.next();
      for (; position !== undefined; position = plan.next()) {
        gone += removeRow.run(position).changes; // 0: another prune deleted it first
        if (performance.now() >= untilMs) break;
      }
      for (let rest = plan.toCut(); rest !== undefined; rest = plan.toCut())
        gone += removeRow.run(rest).changes;
      return { deleted: gone, last: position === undefined };
    });
    return { ...plan.finish().report, deleted };
  };
}
