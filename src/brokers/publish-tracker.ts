import { AuditEmitError } from "../errors/index.js";

/**
 * What broker adapters share around their publishes: refusing them after `close()`, and closing only
 * once every publish in flight has settled.
 * @internal
 */
export interface PublishTracker {
  /** Runs `publish` unless closed (then rejects), and tracks it until it settles. */
  run(publish: () => Promise<void>): Promise<void>;
  /** Waits for the publishes in flight to settle, then calls `release` once; later calls share the result. */
  close(release: () => Promise<void> | void): Promise<void>;
}

/** @internal */
export function createPublishTracker(name: string): PublishTracker {
  const inFlight = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  return {
    run(publish) {
      if (closing !== undefined) return Promise.reject(new AuditEmitError(name, "publish after close()"));
      const published = publish();
      const settled = published.catch(() => {});
      inFlight.add(settled);
      void settled.finally(() => inFlight.delete(settled));
      return published;
    },
    close(release) {
      closing ??= Promise.allSettled([...inFlight]).then(() => release());
      return closing;
    },
  };
}

/**
 * Resolves when the signal aborts, for racing a client call that cannot be cancelled.
 * @internal
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
