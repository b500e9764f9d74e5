/**
 * The records a Recorder still expects from calls in flight: an interceptor notes one when a call's
 * record will come later than the hook that started it (the call's end, an authenticator or authz check
 * still answering), and notes it done once recorded or given up. `close()` waits for the count to reach 0.
 * @internal
 */
export interface PendingRecords {
  /** Notes that a record of a call is still to come. */
  add(): void;
  /** Notes that it was recorded, or will not be: once per `add()`. */
  done(): void;
}

/** For a recorder that is not one `createRecorder` made (a fake in a test): counts nothing. @internal */
export const NO_PENDING_RECORDS: PendingRecords = Object.freeze({ add() {}, done() {} });

/** The counts of the Recorders `createRecorder` made; module-private, so not part of the Recorder's API. */
const countsOf = new WeakMap<object, PendingRecords>();

/**
 * The pending-record count of `recorder` (read once per interceptor, not per call), or one that counts
 * nothing when `recorder` was not made by `createRecorder`.
 * @internal
 */
export function pendingRecordsOf(recorder: unknown): PendingRecords {
  return (typeof recorder === "object" && recorder !== null && countsOf.get(recorder)) || NO_PENDING_RECORDS;
}

/** Makes `pendingRecordsOf(recorder)` give `count`. @internal */
export function trackPendingRecords(recorder: object, count: PendingRecordCount): void {
  countsOf.set(recorder, count);
}

/**
 * One Recorder's count of records still to come. A counter and at most one waiter: per call, an
 * increment and a decrement, no promise and no closure.
 * @internal
 */
export class PendingRecordCount implements PendingRecords {
  /** Records still to come. */
  count = 0;
  private onIdle: (() => void) | undefined;
  private waiting: Promise<void> | undefined;

  add(): void {
    this.count++;
  }

  done(): void {
    // Never below 0: a stray done() must not make a later close() skip a record still to come.
    if (this.count > 0 && --this.count === 0) this.onIdle?.();
  }

  /**
   * Resolves once the count is 0, or after `timeoutMs`: called by `close()` while the count is above 0.
   * A second close() during the wait waits for the same.
   */
  idle(timeoutMs: number): Promise<void> {
    this.waiting ??= new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.onIdle = undefined;
        this.waiting = undefined;
        resolve();
      };
      // Not unref'd: close() must resolve, and the records waited for keep the process up anyway.
      timer = setTimeout(finish, timeoutMs);
      this.onIdle = finish;
    });
    return this.waiting;
  }
}
