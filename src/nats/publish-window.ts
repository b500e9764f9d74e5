/**
 * The limit on publishes awaiting their PubAck, shared by every publish of one broker, and the order
 * in which publishes send: each call sends all its messages after the calls before it, so batches
 * written concurrently reach the server in the order they were handed over, one after the other.
 * @internal
 */
export class PublishWindow {
  #free: number;
  /** The sender waiting for a free slot (senders take turns, so there is at most one). */
  #waiter: (() => void) | undefined;
  /** Settles once every call so far has sent its messages (or given up). */
  #lastTurn: Promise<void> = Promise.resolve();

  constructor(size: number) {
    this.#free = size;
  }

  /** Waits for the earlier calls to finish sending; resolves to the function that ends this call's turn. */
  takeTurn(): { ready: Promise<void>; done: () => void } {
    let done: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const ready = this.#lastTurn;
    // The next call waits for this one and, through it, for every earlier one: a call that gives up
    // early (aborted) still keeps the order of those around it.
    this.#lastTurn = ready.then(() => mine);
    return { ready, done };
  }

  /** Takes a slot at once when one is free. */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Waits for a slot; rejects with the abort reason if `signal` aborts first (and takes none). */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(signal?.reason);
      };
      this.#waiter = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Frees a slot: hands it to the waiting sender, if any. */
  release(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#free++;
      return;
    }
    this.#waiter = undefined;
    waiter();
  }
}
