import type { SonicBoomLike } from "./line-batcher.js";

/** Least time between two tries of a failed write that emits start: a dead disk is not hammered. */
const RETRY_INTERVAL_MS = 1000;

/**
 * Whether the destination a log emitter opened and writes asynchronously has failed: from a write
 * error until a later write succeeds. SonicBoom keeps the text of a failed write and tries it first
 * on its next write, so what it holds is written once the destination recovers (a full disk freed),
 * or lost when the emitter gives up on it in `close()`. A destination that never opened, or a broken
 * pipe (pino then turns the destination's writes into no-ops), never recovers.
 * @internal
 */
export class WriteOutage {
  #error: unknown;
  #failed = false;
  #permanent = false;
  #nextRetry = 0;

  constructor(private readonly sonic: SonicBoomLike) {
    sonic.on("write", () => {
      if (!this.#permanent) this.#failed = false;
    });
  }

  /** True while the destination is known to have failed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** The error that made it fail for good, if it did. */
  get permanentError(): unknown {
    return this.#permanent ? this.#error : undefined;
  }

  /** Records a write error; true when it starts an outage, which is reported once, not per retry. */
  begin(error: unknown): boolean {
    const starts = !this.#failed;
    this.#failed = true;
    this.#error = error;
    if (this.sonic.fd < 0 || (error as { code?: unknown } | null)?.code === "EPIPE") this.#permanent = true;
    return starts;
  }

  /**
   * Tries the failed write again (SonicBoom's next write does), so that emits learn when the
   * destination has recovered: at most once per RETRY_INTERVAL_MS, never beside a write in progress.
   */
  retry(): void {
    const now = performance.now();
    if (this.#permanent || this.sonic._writing || now < this.#nextRetry) return;
    this.#nextRetry = now + RETRY_INTERVAL_MS;
    try {
      this.sonic.write("");
    } catch {
      // Destroyed: nothing will be written again, and emits keep failing.
    }
  }
}
