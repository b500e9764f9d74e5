/**
 * Calls a user's onError hook; the hook itself must never break the caller.
 * @internal
 */
export function report(onError: ((error: Error) => void) | undefined, error: Error): void {
  if (onError === undefined) return;
  try {
    onError(error);
  } catch {
    // An onError hook that throws is ignored: reporting must never become a new failure.
  }
}
