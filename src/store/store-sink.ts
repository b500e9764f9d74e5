import { setTimeout as sleep } from "node:timers/promises";
import type { EventSink } from "../emitters/sink.js";
import { AuditEventRefusedError } from "../errors/index.js";
import { EventIdConflictError, idTakenProblem } from "./event-id-conflict.js";
import { checkInsert } from "./query.js";
import type { StoreWriter } from "./store-writer.js";

/** Pauses between tries while the store is busy: those of SQLite's own busy handler, then its last. */
const PAUSES_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/** How often a write held off while the checkpoint worker empties the log looks again (`insert` is woken at once). */
const EMPTYING_POLL_MS = 1;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, ...): another connection holds a lock. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/**
 * The store as the delivery pipeline's sink (`AuditStore.sink`). A write waits for another
 * connection's write lock, and for the checkpoint worker emptying a log beyond its bound, as `insert`
 * does, up to `busyTimeoutMs`; but on timers between tries, not inside SQLite's call, which would
 * hold the event loop, and every RPC of the server, meanwhile. A lock held longer fails the write
 * with SQLite's SQLITE_BUSY error: the pipeline keeps the batch and retries it with its backoff.
 * An event whose id the store holds for another event is refused alone (see EventIdConflictError).
 * @internal
 */
export function storeSink(name: string, busyTimeoutMs: number, writable: () => StoreWriter): EventSink {
  const store = async (write: (writer: StoreWriter["atOnce"]) => void, signal?: AbortSignal) => {
    const writer = writable();
    const until = performance.now() + busyTimeoutMs;
    for (let tries = 0; ; ) {
      const late = performance.now() >= until;
      // Past the busy timeout, write even while the log is emptied, as `insert` stops waiting then.
      if (!late && writer.emptying()) {
        await sleep(EMPTYING_POLL_MS, undefined, { signal });
        continue;
      }
      try {
        write(writer.atOnce);
        return;
      } catch (error) {
        if (late || !isBusy(error)) throw error;
      }
      await sleep(PAUSES_MS[Math.min(tries++, PAUSES_MS.length - 1)], undefined, { signal });
    }
  };
  // An event whose id is stored for another event is named to the pipeline, which drops and counts it
  // (as "refused", with this message) and writes the rest at once: no retry stores it.
  const storeOrRefuse = async (write: (writer: StoreWriter["atOnce"]) => void, signal?: AbortSignal) => {
    try {
      await store(write, signal);
    } catch (error) {
      if (!(error instanceof EventIdConflictError)) throw error;
      throw new AuditEventRefusedError(name, idTakenProblem(error.eventIds[0] ?? ""), {
        eventIds: error.eventIds,
        cause: error,
      });
    }
  };
  return {
    name,
    write: async (batch, options) => {
      checkInsert(batch);
      await storeOrRefuse((writer) => writer.insert(batch), options?.signal);
    },
    // The bytes as queued: a spool written by a newer version keeps the fields this one does not know.
    writeEncoded: (batch, options) => storeOrRefuse((writer) => writer.insertEncoded(batch), options?.signal),
  };
}
