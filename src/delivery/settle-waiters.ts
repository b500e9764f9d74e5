/**
 * The flush() and close() calls waiting until every event up to a sequence number was delivered or
 * dropped. `isSettledUpTo` says whether that is so; `check()` is called whenever something left the
 * pipeline, and re-checks the waiters once, after the current task.
 * @internal
 */
export class SettleWaiters {
  readonly #isSettledUpTo: (seq: number) => boolean;
  /** Each re-checks its wait; `last` when nothing will leave any more: it answers either way. */
  readonly #waiters = new Set<(last: boolean) => void>();
  #checkQueued = false;
  #ended = false;

  constructor(isSettledUpTo: (seq: number) => boolean) {
    this.#isSettledUpTo = isSettledUpTo;
  }

  /** Something left the pipeline: re-check the waiters once, after the current task. */
  check(): void {
    if (this.#waiters.size === 0 || this.#checkQueued) return;
    this.#checkQueued = true;
    queueMicrotask(() => {
      this.#checkQueued = false;
      for (const check of [...this.#waiters]) check(false);
    });
  }

  /** Nothing will leave any more (close() is done): answers every wait now, and later ones at once. */
  end(): void {
    this.#ended = true;
    for (const check of [...this.#waiters]) check(true);
  }

  /**
   * Resolves true once every event up to `seq` was delivered or dropped, false after `timeoutMs` or
   * once nothing will leave any more.
   */
  wait(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.#isSettledUpTo(seq)) return Promise.resolve(true);
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = (last: boolean) => {
        if (this.#isSettledUpTo(seq)) finish(true);
        else if (last) finish(false);
      };
      // Not unref()ed: whoever awaits flush() or close() gets an answer, at the latest after timeoutMs.
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#waiters.add(check);
    });
  }
}
