/** How retry delays are randomised: AWS's "full jitter" or "decorrelated jitter". */
export type Jitter = "full" | "decorrelated";

/** A resolved retry policy. */
export interface RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: Jitter;
}

/**
 * Delay before retry number `attempt` (1 for the first retry), in whole milliseconds.
 *
 * - "full": a random delay between 0 and `min(maxDelayMs, initialDelayMs * multiplier^(attempt-1))`.
 * - "decorrelated": a random delay between `initialDelayMs` and `previousDelayMs * multiplier`, at
 *   most `maxDelayMs`; `previousDelayMs` is the delay returned for the previous retry (or
 *   `initialDelayMs` before the first).
 *
 * Jitter spreads the retries of many processes after a shared outage, so they do not hammer the
 * recovering sink in lock step.
 * @internal
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  previousDelayMs: number,
  random: () => number,
): number {
  const { initialDelayMs, maxDelayMs, multiplier } = policy;
  if (policy.jitter === "decorrelated") {
    const upper = Math.min(maxDelayMs, Math.max(initialDelayMs, previousDelayMs * multiplier));
    return Math.round(initialDelayMs + random() * (upper - initialDelayMs));
  }
  const ceiling = Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
