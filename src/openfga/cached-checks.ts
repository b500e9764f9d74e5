import type { CheckRequest, Decision } from "../authz/authorizer.js";
import { answer, checkAnswer, failure } from "./check-answer.js";
import type { DecisionCache } from "./decision-cache.js";
import { type Settled, settle } from "./settle.js";

/** Sends one check to OpenFGA, cancelled when `signal` aborts. May throw or reject. @internal */
export type AskOpenFga = (
  request: CheckRequest,
  signal: AbortSignal | undefined,
) => Promise<{ allowed?: boolean }>;

/** Checks answered from the decision cache, else by one request shared by every caller asking it. @internal */
export interface CachedChecks {
  /**
   * The cached decision of `request`, whose cache key is `key` (`keyOf(request)`, computed once by the
   * caller), at once; else a promise of OpenFGA's, which never rejects.
   */
  check(request: CheckRequest, key: string, signal: AbortSignal | undefined): Decision | Promise<Decision>;
}

/**
 * Concurrent checks of one question share one request: when a cached answer expires under load, every
 * call in flight would otherwise ask OpenFGA the same thing at once. Each caller still waits only as
 * long as its own signal allows. Once one caller gives up, later calls start a fresh request instead of
 * joining it, and it is cancelled when its last caller gives up. A check started before an invalidation
 * is not joined after it. An answer is stored in `decisions` unless it was invalidated meanwhile.
 * @internal
 */
export function createCachedChecks(decisions: DecisionCache, ask: AskOpenFga): CachedChecks {
  const inFlight = new Map<string, SharedCheck>();

  function start(request: CheckRequest, key: string): SharedCheck {
    const generation = decisions.generation;
    const controller = new AbortController();
    const started: SharedCheck = {
      generation,
      controller,
      waiting: 0,
      settled: settle(() => ask(request, controller.signal), controller.signal).then((outcome) => {
        if (inFlight.get(key) === started) inFlight.delete(key);
        if (outcome.ok && typeof outcome.value.allowed === "boolean")
          decisions.set(request, outcome.value.allowed, generation);
        return outcome;
      }),
    };
    inFlight.set(key, started);
    return started;
  }

  async function join(
    request: CheckRequest,
    key: string,
    signal: AbortSignal | undefined,
  ): Promise<Decision> {
    if (signal?.aborted) return failure({ error: signal.reason, aborted: true });
    const current = inFlight.get(key);
    const joined =
      current === undefined || current.generation !== decisions.generation ? start(request, key) : current;
    joined.waiting++;
    const waited = await settle(() => joined.settled, signal);
    joined.waiting--;
    if (!waited.ok) {
      // A request that outlived a caller's budget may be stuck (a Retry-After sleep, a stalled
      // connection): under steady traffic new callers would keep joining it and it would never be
      // cancelled, so no later call joins it. The last of its callers to give up cancels it.
      if (inFlight.get(key) === joined) inFlight.delete(key);
      if (joined.waiting === 0) joined.controller.abort();
      return failure(waited);
    }
    const outcome = waited.value;
    return outcome.ok ? checkAnswer(outcome.value) : failure(outcome);
  }

  return {
    // Not async: a hit, the common case, costs no promise of its own.
    check(request, key, signal) {
      const cached = decisions.get(key);
      return cached === undefined ? join(request, key, signal) : answer(cached, true);
    },
  };
}

/** One check request to OpenFGA that concurrent callers asking the same question wait for. */
interface SharedCheck {
  /** The cache generation it started at. */
  generation: number;
  controller: AbortController;
  /** Callers waiting for it. */
  waiting: number;
  settled: Promise<Settled<{ allowed?: boolean }>>;
}
