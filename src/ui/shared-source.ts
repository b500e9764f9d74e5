import { setImmediate } from "node:timers/promises";
import { AuditError } from "../errors/index.js";
import type { AuditQuery, AuditStats } from "../store/query.js";
import type { UiSource, UiVerifyReport } from "./ui-source.js";

/**
 * The source as the viewer's server reads it. After `closed()` turns true it starts no read: each
 * rejects with an AuditError (its request has no connection left to answer on; the server reports
 * none). One verification is shared by the requests that ask while it runs: each reads the whole
 * store, and every page load asks for one, so reloads would otherwise pile up full reads that run on
 * after their pages are gone. Counts (`stats`) are read one filter at a time, each on a later turn of
 * the event loop, and shared by the requests that ask for the same filter while it waits or runs: each
 * reads every matching row (on its own thread for a SQLite store, `startStatsWorker`; a source's
 * `stats` may also count synchronously), so counts read as requests came held a stop (SIGTERM, then
 * `close()`) until every request that had come was counted. Now the stop comes between two counts,
 * and the counts still waiting are not read.
 * @internal
 */
export function sharedSource(source: UiSource, closed: () => boolean): UiSource {
  const open = (): void => {
    if (closed()) throw new AuditError("web viewer: closed; the read was not started");
  };
  let verifying: Promise<UiVerifyReport> | undefined;
  const counting = new Map<string, Promise<AuditStats>>();
  let lastCount: Promise<unknown> = Promise.resolve();
  return {
    name: source.name,
    query: async (filter, page) => {
      open();
      return source.query(filter, page);
    },
    stats: (filter) => {
      const key = filterKey(filter);
      let count = counting.get(key);
      if (count === undefined) {
        count = lastCount
          .then(async () => {
            // A later turn of the event loop: a signal that came during the last count is handled first
            // (a stop then calls close()), so the check below sees it.
            await setImmediate();
            open();
            return source.stats(filter);
          })
          .finally(() => counting.delete(key));
        counting.set(key, count);
        lastCount = count.catch(() => undefined); // its requests get its error; the next count runs on
      }
      return count;
    },
    verify: () => {
      verifying ??= (async () => {
        open();
        return source.verify();
      })().finally(() => {
        verifying = undefined;
      });
      return verifying;
    },
  };
}

/** A filter as a text equal for equal filters: its set fields in name order, times as ISO text. */
function filterKey(filter: AuditQuery): string {
  const fields = Object.entries(filter).filter(([, value]) => value !== undefined);
  fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(fields);
}
