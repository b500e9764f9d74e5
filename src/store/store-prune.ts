import type { Database } from "better-sqlite3";
import {
  checkPruneOptions,
  cutReport,
  type PruneOptions,
  type PruneReport,
  type PruneRow,
  planPrune,
} from "./prune-plan.js";
import type { StoreWriter } from "./store-writer.js";
import { IN_POSITION_RANGE } from "./stored-rows.js";

const NOT_PRUNED = "nothing was pruned";

/**
 * `AuditStore.pruneReport` of the store open as `db`: its writer is undefined when it was opened
 * read-only, and then only a `dryRun` is answered (`readOnly` is the error otherwise).
 * @internal
 */
export function storePrune(
  db: Database,
  writer: StoreWriter | undefined,
  readOnly: () => Error,
): (options: PruneOptions) => PruneReport {
  /**
   * Every row as the prune plan reads it, in insertion order. Not those above the position range:
   * their position would round to another row's, which the delete would remove; they stay.
   */
  const pruneRows = db.prepare(
    `SELECT seq position, occurred_at_ms occurredAtMs, event FROM events WHERE ${IN_POSITION_RANGE} ORDER BY seq`,
  );
  return (options) => {
    checkPruneOptions(options, "audit store");
    // SQLite would refuse the deletes with its own "attempt to write a readonly database".
    if (writer === undefined && options.dryRun !== true) throw readOnly();
    const beforeMs = options.before.getTime();
    if (options.cutChains === true) {
      const sql = options.dryRun === true ? "SELECT count(*) FROM events" : "DELETE FROM events";
      const where = `${sql} WHERE occurred_at_ms < ?`;
      if (options.dryRun === true || writer === undefined) {
        return cutReport(Number(db.prepare(where).pluck().get(beforeMs)));
      }
      return cutReport(
        writer.remove(
          () => db.prepare(where).run(beforeMs).changes,
          (n) => n,
          NOT_PRUNED,
        ),
      );
    }
    const plan = () => planPrune(pruneRows.iterate() as Iterable<PruneRow>, beforeMs);
    if (options.dryRun === true || writer === undefined) return plan().report;
    // Immediate: no insert between the plan and its deletes, which could start a chain anew.
    return writer.remove(
      () =>
        db
          .transaction(() => {
            const { positions, report } = plan();
            const remove = db.prepare("DELETE FROM events WHERE seq = ?");
            for (let i = 0; i < positions.length; i++) remove.run(positions[i]);
            return report;
          })
          .immediate(),
      (report) => report.deleted,
      NOT_PRUNED,
    );
  };
}
