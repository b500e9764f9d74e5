import type { CheckRequest } from "../authz/authorizer.js";

/** Options of `createDecisionCache`, resolved. @internal */
export interface DecisionCacheConfig {
  ttlMs: number;
  maxEntries: number;
  /** See `OpenFgaCacheOptions.invalidation`. */
  invalidation: "all" | "object";
  /** Clock in ms. */
  now: () => number;
}

/**
 * Allowed/denied answers by (user, relation, object), for `ttlMs`, at most `maxEntries` of them (the least
 * recently used goes first). Only answers are stored: errors never are.
 *
 * @internal
 */
export interface DecisionCache {
  /** Changes on every invalidation. A check stores its answer only if it has not changed since the check started. */
  readonly generation: number;
  /** The cached answer, or undefined when there is none or it expired. */
  get(request: CheckRequest): boolean | undefined;
  /** Stores an answer obtained by a check that started at `generation`; ignored when that is stale. */
  set(request: CheckRequest, allowed: boolean, generation: number): void;
  /** See `OpenFgaAuthorizer.invalidate`. */
  invalidate(tuples: readonly CheckRequest[]): void;
}

interface Entry {
  allowed: boolean;
  object: string;
  expiresAtMs: number;
}

/** @internal */
export function createDecisionCache(config: DecisionCacheConfig): DecisionCache {
  const { ttlMs, maxEntries, invalidation, now } = config;
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, Entry>();
  let generation = 0;

  return {
    get generation() {
      return generation;
    },
    get(request) {
      const key = keyOf(request);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (entry.expiresAtMs <= now()) return undefined;
      entries.set(key, entry);
      return entry.allowed;
    },
    set(request, allowed, startedAt) {
      // A write finished while this check was in flight: its answer may predate the write.
      if (startedAt !== generation) return;
      const key = keyOf(request);
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { allowed, object: request.object, expiresAtMs: now() + ttlMs });
    },
    invalidate(tuples) {
      generation++;
      if (invalidation === "all" || tuples.some((tuple) => reachesOtherObjects(tuple.user))) {
        entries.clear();
        return;
      }
      const objects = new Set(tuples.map((tuple) => tuple.object));
      for (const [key, entry] of entries) {
        if (objects.has(entry.object)) entries.delete(key);
      }
    },
  };
}

/**
 * True when a tuple with this user can change answers about objects other than its own: a userset
 * ("team:core#member") or an object that is not a "user:" (such as "folder:x" as a parent), since
 * computed relations and tuple-to-userset rewrites follow them.
 */
function reachesOtherObjects(user: string): boolean {
  return user.includes("#") || !user.startsWith("user:");
}

/** The key of a (user, relation, object) question. @internal */
export function keyOf(request: CheckRequest): string {
  // JSON keeps the three parts apart whatever characters they hold.
  return JSON.stringify([request.user, request.relation, request.object]);
}
