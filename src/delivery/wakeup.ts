/**
 * Lets one waiter (the pump) sleep until something changes. A wake-up that arrives while nobody
 * waits is kept, so the next wait returns at once: no change is missed between a check and a wait.
 * Timers are unref()ed: a waiting pipeline never keeps the process alive.
 * @internal
 */
export class Wakeup {
  #resolve: (() => void) | undefined;
  #pending = false;

  wake(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) {
      this.#pending = true;
      return;
    }
    this.#resolve = undefined;
    resolve();
  }

  /** Resolves on the next wake(), or after `ms` when given. */
  wait(ms?: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        if (this.#resolve === done) this.#resolve = undefined;
        resolve();
      };
      this.#resolve = done;
      if (ms !== undefined) {
        timer = setTimeout(done, ms);
        timer.unref();
      }
    });
  }
}

/** A wait that ran out of time. @internal */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Options of `withTimeout`. */
interface TimeoutOptions {
  /** Aborted with the TimeoutError when time runs out; an abort by someone else rejects at once. */
  controller?: AbortController;
  message?: () => string;
  /**
   * Keep the process alive until the time is up: for waits a caller awaits (flush, close), which
   * must settle. Background waits (a sink write) do not. Default: false.
   */
  keepAlive?: boolean;
}

/**
 * Settles like `promise`, or rejects with a TimeoutError after `ms` (aborting the controller with it),
 * or with the abort reason as soon as the controller is aborted by someone else.
 * @internal
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, options: TimeoutOptions = {}): Promise<T> {
  const { controller, message = () => `timed out after ${ms} ms`, keepAlive = false } = options;
  return new Promise<T>((resolve, reject) => {
    const signal = controller?.signal;
    const onAbort = () => settle(() => reject(signal?.reason));
    const timer = setTimeout(
      () => {
        const error = new TimeoutError(message());
        settle(() => reject(error));
        controller?.abort(error);
      },
      Math.max(0, ms),
    );
    if (!keepAlive) timer.unref();
    function settle(action: () => void) {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      action();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
