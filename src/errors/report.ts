/**
 * Calls a user's hook (onError, onSinkRecovered, onInternalError, ...); the hook must never break the
 * caller: a throw is ignored, and so is the rejection of a promise it returns (an `async` hook), which
 * would otherwise be an unhandled rejection, ending the process by Node's default.
 * @internal
 */
export function callHook<A extends unknown[]>(hook: ((...args: A) => unknown) | undefined, ...args: A): void {
  if (hook === undefined) return;
  try {
    const result = hook(...args);
    if (typeof (result as PromiseLike<unknown> | null | undefined)?.then === "function") {
      (result as PromiseLike<unknown>).then(undefined, () => {});
    }
  } catch {
    // A hook that throws is ignored: reporting must never become a new failure.
  }
}

/**
 * Calls a user's onError hook; the hook itself must never break the caller (see callHook).
 * @internal
 */
export function report(onError: ((error: Error) => void) | undefined, error: Error): void {
  callHook(onError, error);
}
