import type { CheckRequest } from "../authz/authorizer.js";

/** Options of `createDecisionCache`, resolved. @internal */
export interface DecisionCacheConfig {
  ttlMs: number;
  maxEntries: number;
  /** See `OpenFgaCacheOptions.invalidation`. */
  invalidation: "all" | "object";
  /** See `OpenFgaCacheOptions.unknownOutcomeHoldMs`. */
  unknownOutcomeHoldMs: number;
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
  /**
   * The cached answer to the question of `key` (see `keyOf`: the caller computes it once per check), or
   * undefined when there is none or it expired.
   */
  get(key: string): boolean | undefined;
  /** Stores an answer obtained by a check that started at `generation`; ignored when that is stale. */
  set(request: CheckRequest, allowed: boolean, generation: number): void;
  /**
   * See `OpenFgaAuthorizer.invalidate`. With `unknownOutcome`, answers about the same scope are also not
   * stored for `unknownOutcomeHoldMs` from now: OpenFGA may still apply the write in that time.
   */
  invalidate(tuples: readonly CheckRequest[], unknownOutcome?: boolean): void;
  /** See `OpenFgaAuthorizer.holdForWrite`: the returned function ends the hold (once) and invalidates again. */
  holdForWrite(tuples: readonly CheckRequest[]): () => void;
}

interface Entry {
  allowed: boolean;
  object: string;
  expiresAtMs: number;
}

/** @internal */
export function createDecisionCache(config: DecisionCacheConfig): DecisionCache {
  const { ttlMs, maxEntries, invalidation, unknownOutcomeHoldMs, now } = config;
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, Entry>();
  let generation = 0;
  // Scopes of writes with an unknown outcome, held until these times: answers about them are not stored.
  let allHeldUntilMs = Number.NEGATIVE_INFINITY;
  const heldObjects = new Map<string, number>();
  let nextHoldEndMs = Number.POSITIVE_INFINITY;
  // Scopes of write requests in flight, counted (several writes may hold one scope): answers about
  // them are not stored until the last one's answer came.
  let writingAll = 0;
  const writingObjects = new Map<string, number>();

  /** Ends the holds that are over, as an invalidation: a check started during one must not store. */
  function endHolds(): void {
    if (nextHoldEndMs === Number.POSITIVE_INFINITY) return;
    const at = now();
    if (at < nextHoldEndMs) return;
    generation++;
    nextHoldEndMs = allHeldUntilMs > at ? allHeldUntilMs : Number.POSITIVE_INFINITY;
    for (const [object, untilMs] of heldObjects) {
      if (untilMs <= at) heldObjects.delete(object);
      else nextHoldEndMs = Math.min(nextHoldEndMs, untilMs);
    }
  }

  function isHeld(object: string): boolean {
    if (writingAll > 0 || writingObjects.has(object)) return true;
    if (nextHoldEndMs === Number.POSITIVE_INFINITY) return false;
    return allHeldUntilMs > now() || heldObjects.has(object);
  }

  /** The objects whose answers `tuples` may change; undefined for every answer. */
  function scopeOf(tuples: readonly CheckRequest[]): ReadonlySet<string> | undefined {
    if (invalidation === "all" || tuples.some(reachesOtherObjects)) return undefined;
    return new Set(tuples.map((tuple) => tuple.object));
  }

  function invalidate(tuples: readonly CheckRequest[], unknownOutcome = false): void {
    generation++;
    const objects = scopeOf(tuples);
    if (objects === undefined) entries.clear();
    else
      for (const [key, entry] of entries) {
        if (objects.has(entry.object)) entries.delete(key);
      }
    if (unknownOutcome) hold(objects);
  }

  function writing(objects: ReadonlySet<string> | undefined, by: 1 | -1): void {
    if (objects === undefined) {
      writingAll += by;
      return;
    }
    for (const object of objects) {
      const count = (writingObjects.get(object) ?? 0) + by;
      if (count > 0) writingObjects.set(object, count);
      else writingObjects.delete(object);
    }
  }

  function hold(objects: ReadonlySet<string> | undefined): void {
    const untilMs = now() + unknownOutcomeHoldMs;
    nextHoldEndMs = Math.min(nextHoldEndMs, untilMs);
    if (objects === undefined) allHeldUntilMs = Math.max(allHeldUntilMs, untilMs);
    else
      for (const object of objects)
        heldObjects.set(object, Math.max(heldObjects.get(object) ?? untilMs, untilMs));
  }

  return {
    get generation() {
      endHolds();
      return generation;
    },
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (entry.expiresAtMs <= now()) return undefined;
      entries.set(key, entry);
      return entry.allowed;
    },
    set(request, allowed, startedAt) {
      endHolds();
      // A write finished while this check was in flight: its answer may predate the write.
      if (startedAt !== generation) return;
      const key = keyOf(request);
      if (key === undefined) return;
      // A write with an unknown outcome may still be applied: its answer may predate the write.
      if (isHeld(request.object)) return;
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { allowed, object: request.object, expiresAtMs: now() + ttlMs });
    },
    invalidate,
    holdForWrite(tuples) {
      invalidate(tuples);
      const objects = scopeOf(tuples);
      writing(objects, 1);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        writing(objects, -1);
        // A check started while the request was in flight may have been answered before OpenFGA applied it.
        invalidate(tuples);
      };
    },
  };
}

/**
 * True when a tuple can change answers about objects other than its own: its user is a userset
 * ("team:core#member") or an object that is not a "user:" (such as "folder:x" as a parent), since
 * computed relations and tuple-to-userset rewrites follow them; or the tuple is malformed (a field
 * that is not a string, an object that is not `type:id`, such as the writer's "(invalid)"), so what
 * was sent for it is not known.
 */
function reachesOtherObjects(tuple: CheckRequest): boolean {
  const { user, object } = tuple;
  if (typeof user !== "string" || typeof object !== "string" || !object.includes(":")) return true;
  return user.includes("#") || !user.startsWith("user:");
}

/**
 * The key of a (user, relation, object) question, or undefined when a field is not a string (such a
 * question is never cached nor shared). Never throws. @internal
 */
export function keyOf(request: CheckRequest): string | undefined {
  try {
    const { user, relation, object } = request;
    if (typeof user !== "string" || typeof relation !== "string" || typeof object !== "string")
      return undefined;
    // JSON keeps the three parts apart whatever characters they hold.
    return JSON.stringify([user, relation, object]);
  } catch {
    return undefined;
  }
}
