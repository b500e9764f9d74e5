import { monotonicNow } from "./monotonic-now.js";

/** An event of the "park" policy waiting for queue space. @internal */
export interface Parked {
  readonly seq: number;
  readonly kind: number;
  readonly bytes: Uint8Array;
  readonly deadline: number;
}

/**
 * The parked list of the "park" policy: events waiting for queue space, oldest first. One timer at a
 * time, set for the oldest event's deadline (with one timeout for all, the first to expire), calls
 * `onDeadline`, which promotes and drops what it can; then the timer is set for the next oldest.
 * @internal
 */
export class ParkedList {
  readonly #events: Parked[] = [];
  readonly #onDeadline: () => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(onDeadline: () => void) {
    this.#onDeadline = onDeadline;
  }

  get length(): number {
    return this.#events.length;
  }

  /** The oldest parked event. */
  get oldest(): Parked | undefined {
    return this.#events[0];
  }

  add(event: Parked): void {
    this.#events.push(event);
    this.#schedule();
  }

  /** Removes the oldest parked event and returns it. */
  shift(): Parked | undefined {
    return this.#events.shift();
  }

  /** Removes every parked event and returns them, oldest first. */
  removeAll(): Parked[] {
    return this.#events.splice(0);
  }

  /** How many parked events are numbered `seq` or lower. */
  countUpTo(seq: number): number {
    return this.#events.filter((event) => event.seq <= seq).length;
  }

  /** Sets no more timers, and clears the one set. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    const head = this.#events[0];
    if (this.#timer !== undefined || head === undefined || this.#stopped) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#onDeadline();
        this.#schedule();
      },
      Math.max(0, head.deadline - monotonicNow()),
    );
    this.#timer.unref();
  }
}
