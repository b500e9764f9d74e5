import { MAX_FIELD_BYTES, truncateText } from "../event/limits.js";

/** The kinds whose successes a record policy may count instead of recording (`RecordPolicy`). */
export type SkippableKind = "authn.result" | "authz.decision" | "resource.access";

/** How many successes of one kind, by one actor, on one operation, the record policy counted. */
export interface SkippedCount {
  /** The kind of the skipped events. */
  kind: SkippableKind;
  /** The actor id the event would have had: "anonymous" in an RPC without one, "" outside an RPC. */
  actor: string;
  /** The gRPC method path the event would have had; "" outside an RPC. */
  operation: string;
  /** How many were skipped; only grows. */
  count: number;
}

/**
 * Successes counted instead of recorded under `RecorderOptions.record`. Counts only grow; nothing
 * resets them while the Recorder lives.
 */
export interface SkippedStats {
  /** Every skipped success by kind, those in `overflow` included. */
  byKind: Record<SkippableKind, number>;
  /**
   * Exact counts per (kind, actor, operation), in the order the keys were first seen, for at most
   * `maxSkippedKeys` keys. Actor and operation are cut to 256 UTF-8 bytes, as in events.
   */
  counts: SkippedCount[];
  /** Skips whose key was first seen once `maxSkippedKeys` keys were held: in `byKind` only. */
  overflow: number;
}

/**
 * The skips since the previous window was committed: per key (first-seen order, keys without new
 * skips left out) and beyond the held keys. `commit` marks them reported, so the next window starts
 * after them; what is not committed (its summary could not be built, or was not accepted) is part of
 * the next one.
 * @internal
 */
export interface SkipWindow {
  counts: SkippedCount[];
  overflow: number;
  /** Marks `counts[start]` to `counts[end - 1]` reported, and `overflow` too when `withOverflow`. */
  commit(start: number, end: number, withOverflow: boolean): void;
}

/** Exact counts per (kind, actor, operation) for up to `maxKeys` keys. @internal */
export interface SkipCounts {
  add(kind: SkippableKind, actor: string, operation: string): void;
  stats(): SkippedStats;
  window(): SkipWindow;
}

/** A held key's count, and how much of it a committed window has reported. */
interface Entry extends SkippedCount {
  reported: number;
}

/**
 * Makes the skip counters of a Recorder. The key fields are cut like an event's, so a key takes at
 * most about 1.5 KB of heap however long the caller's actor id or method path (about 0.25 KB when
 * both are short).
 * @internal
 */
export function createSkipCounts(maxKeys: number): SkipCounts {
  const byKind: Record<SkippableKind, number> = {
    "authn.result": 0,
    "authz.decision": 0,
    "resource.access": 0,
  };
  // kind → operation → actor → its count. Nested maps, so a hit builds no key string.
  const tables = new Map<SkippableKind, Map<string, Map<string, Entry>>>();
  const entries: Entry[] = [];
  let overflow = 0;
  let overflowReported = 0;

  return {
    add(kind, actor, operation) {
      byKind[kind]++;
      const op = truncateText(operation, MAX_FIELD_BYTES);
      const who = truncateText(actor, MAX_FIELD_BYTES);
      let operations = tables.get(kind);
      let actors = operations?.get(op);
      const entry = actors?.get(who);
      if (entry !== undefined) {
        entry.count++;
        return;
      }
      if (entries.length >= maxKeys) {
        overflow++;
        return;
      }
      if (operations === undefined) {
        operations = new Map();
        tables.set(kind, operations);
      }
      const added: Entry = {
        kind,
        actor: own(who, actor),
        operation: own(op, operation),
        count: 1,
        reported: 0,
      };
      if (actors === undefined) {
        actors = new Map();
        operations.set(added.operation, actors);
      }
      actors.set(added.actor, added);
      entries.push(added);
    },
    stats: () => ({
      byKind: { ...byKind },
      counts: entries.map(({ kind, actor, operation, count }) => ({ kind, actor, operation, count })),
      overflow,
    }),
    window() {
      // One pass over the held keys per summary, none on the skip path.
      const changed = entries.filter((entry) => entry.count > entry.reported);
      const counts = changed.map(({ kind, actor, operation, count, reported }) => ({
        kind,
        actor,
        operation,
        count: count - reported,
      }));
      const overflowAt = overflow;
      return {
        counts,
        overflow: overflowAt - overflowReported,
        commit(start, end, withOverflow) {
          for (let i = start; i < end; i++) {
            const entry = changed[i];
            if (entry !== undefined) entry.reported += counts[i]?.count ?? 0;
          }
          if (withOverflow) overflowReported = overflowAt;
        },
      };
    },
  };
}

/**
 * `cut` as a string of its own when it was cut from `whole`: a cut string can be a slice that keeps all
 * of `whole` in memory, and a key is kept for the Recorder's life.
 */
function own(cut: string, whole: string): string {
  return cut === whole ? cut : Buffer.from(cut, "utf8").toString("utf8");
}
