import type { VerifyReport } from "../chain/verify-types.js";
import type { AuditPage } from "../store/audit-store.js";
import type { AuditQuery, AuditStats, PageOptions } from "../store/query.js";

/**
 * What the web viewer reads: a store's queries and counts (the SQLite store or the PostgreSQL one,
 * behind the same asynchronous calls) and a verification of its chains. It only reads.
 */
export interface UiSource {
  /** The store's name as the page shows it: the file, or the URL without its password. */
  readonly name: string;
  /** One page of events matching `filter`, newest first (as `AuditStore.query`). */
  query(filter: AuditQuery, page: PageOptions): Promise<AuditPage>;
  /** Counts of the events matching `filter` (as `AuditStore.stats`). */
  stats(filter: AuditQuery): Promise<AuditStats>;
  /** Verifies every chain of the store (as `grpc-audit verify` does). */
  verify(): Promise<UiVerifyReport>;
  /**
   * Ends what the source runs for the viewer, such as the thread a SQLite store's counts are read on
   * (`startStatsWorker`); the viewer's `close()` calls it. Default: nothing to end.
   */
  close?(): Promise<void>;
}

/**
 * A store row that cannot be read, or whose filter columns were edited around its event, as the chain
 * verification reports it. Counts as `modified`.
 */
export interface UiUnreadable {
  /** Where: "row 12 (event <id>)". */
  where: string;
  reason: string;
}

/** The chain verification of a whole store: the report of `verifyChains`, and the rows it could not read. */
export interface UiVerifyReport extends VerifyReport {
  unreadable: readonly UiUnreadable[];
}
