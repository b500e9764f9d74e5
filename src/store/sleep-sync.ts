/**
 * Blocks this thread for `ms` milliseconds. The store's connections are synchronous (better-sqlite3), so
 * a wait between two tries of a statement has to block as the statement itself would.
 */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
