import type { IngestStats } from "../ingest/index.js";

/**
 * The progress line of `grpc-audit ingest`: totals since start, rates since the previous line, the
 * messages the broker removed before they were stored (when the source can tell) and the consumer's
 * lag, such as
 * `ingest: 1200 received (400/s), 1190 inserted (397/s), 10 duplicates, 0 dead-lettered, 0 lost, 24 batches, 0 errors, lag 35`.
 */
export function progressLine(stats: IngestStats, previous: IngestStats, elapsedMs: number): string {
  const rate = (now: number, before: number) =>
    elapsedMs > 0 ? Math.round(((now - before) * 1000) / elapsedMs) : 0;
  return (
    `ingest: ${stats.received} received (${rate(stats.received, previous.received)}/s), ` +
    `${stats.inserted} inserted (${rate(stats.inserted, previous.inserted)}/s), ` +
    `${stats.duplicates} duplicates, ${stats.deadLettered} dead-lettered, ` +
    `${stats.lost === undefined ? "" : `${stats.lost} lost, `}${stats.batches} batches, ` +
    `${stats.errors} errors, lag ${stats.lag ?? "unknown"}`
  );
}
