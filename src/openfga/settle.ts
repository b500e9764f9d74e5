/** An SDK call's outcome; `aborted` when the caller's signal ended the wait. @internal */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown; aborted: boolean };

/**
 * Runs an SDK call and resolves with its outcome, or with the signal's reason as soon as it aborts:
 * `@openfga/sdk` sleeps out a 429's or 5xx's `Retry-After` (up to 30 min) even after its request was
 * cancelled, and the caller (an RPC) must not wait for that. Never rejects: a late outcome of an
 * abandoned call is consumed here.
 * @internal
 */
export function settle<T>(call: () => Promise<T>, signal: AbortSignal | undefined): Promise<Settled<T>> {
  if (signal?.aborted) return Promise.resolve({ ok: false, error: signal.reason, aborted: true });
  return new Promise((resolve) => {
    const onAbort = () => resolve({ ok: false, error: signal?.reason, aborted: true });
    signal?.addEventListener("abort", onAbort, { once: true });
    // An async wrapper turns a synchronous throw of `call` into a rejection.
    (async () => call())()
      .then(
        (value) => resolve({ ok: true, value }),
        (error: unknown) => resolve({ ok: false, error, aborted: signal?.aborted === true }),
      )
      .finally(() => signal?.removeEventListener("abort", onAbort));
  });
}
