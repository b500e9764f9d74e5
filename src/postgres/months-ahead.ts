import {
  INSUFFICIENT_PRIVILEGE,
  LOCK_NOT_AVAILABLE,
  missingPartitions,
  nextPartition,
  type Partition,
} from "./partitions.js";

/**
 * Monthly partitions made before their events arrive. A role that may not create partitions (a
 * least-privileged writer) writes only into months made for it, and a Recorder's events are of the
 * current month: so a store whose role may create them makes the current month and the next when it
 * opens, and the month after each month it then writes to, which keeps a long-running one (an
 * ingester) a month ahead. Months already over are not made ahead: an old backlog needs only its own.
 * @internal
 */
export interface MonthsAhead {
  /** The months of `times` whose next month this store has not made yet; no await, one pass over `times`. */
  due(times: Iterable<number>): Partition[];
  /**
   * Makes each of `months` and the month after it. A role refused the right is not asked again (its
   * events of a month nobody made are refused, as before); months not made because the events table
   * stayed locked are tried again with the next batch. Rejects with any other error.
   */
  follow(months: readonly Partition[]): Promise<void>;
}

/** `create` makes those of the partitions given that are missing, in a transaction of its own. @internal */
export function createMonthsAhead(create: (partitions: Partition[]) => Promise<void>): MonthsAhead {
  /** Months whose next month was made, found made, or refused to this role. */
  const followed = new Set<string>();
  // False once this role was refused: a CREATE denied at each month's first batch would only fill the
  // server's log with errors.
  let allowed = true;
  return {
    due: (times) => (allowed ? missingPartitions(times, followed) : []),
    async follow(months) {
      const now = Date.now();
      const next = months.map(nextPartition).filter((p): p is Partition => p !== undefined && p.toMs > now);
      try {
        if (next.length > 0) await create([...months, ...next]);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === LOCK_NOT_AVAILABLE) return; // not followed: the next batch tries again
        if (code !== INSUFFICIENT_PRIVILEGE) throw error;
        allowed = false;
      }
      for (const p of months) followed.add(p.name);
    },
  };
}
