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

/**
 * Where a Recorder `createRecorder` made keeps its count: a hidden property under a symbol of the
 * process's registry, not part of the Recorder's API. The interceptors of another copy of this library
 * (a dependency that pins another version) find it too: with a module-private map they counted
 * nothing, and `close()` did not wait for their calls, whose events were then dropped.
 */
const PENDING = Symbol.for("grpc-audit.pending-records");

/**
 * The pending-record count of `recorder` (read once per interceptor, not per call), or one that counts
 * nothing when `recorder` was not made by `createRecorder`.
 * @internal
 */
export function pendingRecordsOf(recorder: unknown): PendingRecords {
  try {
    if (typeof recorder !== "object" || recorder === null) return NO_PENDING_RECORDS;
    const count = (recorder as { [PENDING]?: Partial<PendingRecords> })[PENDING];
    return typeof count?.add === "function" && typeof count.done === "function"
      ? (count as PendingRecords)
      : NO_PENDING_RECORDS;
  } catch {
    return NO_PENDING_RECORDS; // a Proxy that throws: not one createRecorder made
  }
}

/** Makes `pendingRecordsOf(recorder)` give `count`. @internal */
export function trackPendingRecords(recorder: object, count: PendingRecordCount): void {
  Object.defineProperty(recorder, PENDING, { value: count }); // not enumerable, not writable
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
