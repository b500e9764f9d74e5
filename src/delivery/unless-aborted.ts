/**
 * `promise`'s value, or undefined once `signal` aborted first (the promise runs on); the abort listener
 * is removed when the promise settles. Not `Promise.race` with a promise that settles only at stop: each
 * race would add a reaction to it for good, holding what the waiter's scope holds (the pipeline's retry
 * kept its sink error, whose stack held the batch) until stop. @internal
 */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const stop = () => resolve(undefined);
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop();
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
