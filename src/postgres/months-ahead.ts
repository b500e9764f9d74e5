import {
  INSUFFICIENT_PRIVILEGE,
  LOCK_NOT_AVAILABLE,
  missingPartitions,
  nextPartition,
  type Partition,
} from "./partitions.js";

/**
 * How long months ahead are not tried again after the events table stayed locked. A lock held that
 * long is a manual VACUUM or ANALYZE, a prune or a migration: trying before every batch would delay
 * each one, and a month ahead has weeks to be made.
 * @internal
 */
export const AHEAD_RETRY_MS = 60_000;

/**
 * Monthly partitions made before their events arrive. A role that may not create partitions (a
 * least-privileged writer) writes only into months made for it, and a Recorder's events are of the
 * current month: so a store whose role may create them makes the current month and the next when it
 * opens, and the month after each month it then writes to, which keeps a long-running one (an
 * ingester) a month ahead. Months already over are not made ahead: an old backlog needs only its own.
 * @internal
 */
export interface MonthsAhead {
  /**
   * The months of `times` whose next month this store has not made yet; none for `AHEAD_RETRY_MS`
   * after the events table stayed locked. No await, one pass over `times`.
   */
  due(times: Iterable<number>): Partition[];
  /**
   * Makes each of `months` and the month after it. A role refused the right is not asked again (its
   * events of a month nobody made are refused, as before); months not made because the events table
   * stayed locked are tried again with the first batch after `AHEAD_RETRY_MS`. Rejects with any other
   * error.
   */
  follow(months: readonly Partition[]): Promise<void>;
}

/**
 * `create` makes those of the partitions given that are missing, in a transaction of its own that
 * waits little for the events table: a write into an existing month waits for it. @internal
 */
export function createMonthsAhead(create: (partitions: Partition[]) => Promise<void>): MonthsAhead {
  /** Months whose next month was made, found made, or refused to this role. */
  const followed = new Set<string>();
  // False once this role was refused: a CREATE denied at each month's first batch would only fill the
  // server's log with errors.
  let allowed = true;
  /**
   * performance.now() before which none is tried: the events table stayed locked at the last try. The
   * monotonic clock: a wall clock stepped back would delay the retry by the step.
   */
  let retryAtMs = Number.NEGATIVE_INFINITY;
  return {
    due: (times) => (allowed && performance.now() >= retryAtMs ? missingPartitions(times, followed) : []),
    async follow(months) {
      const now = Date.now();
      const next = months.map(nextPartition).filter((p): p is Partition => p !== undefined && p.toMs > now);
      try {
        if (next.length > 0) await create([...months, ...next]);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === LOCK_NOT_AVAILABLE) {
          retryAtMs = performance.now() + AHEAD_RETRY_MS; // not followed: a batch after then tries again
          return;
        }
        if (code !== INSUFFICIENT_PRIVILEGE) throw error;
        allowed = false;
      }
      for (const p of months) followed.add(p.name);
    },
  };
}
