import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs, shown } from "../errors/option-checks.js";
import { plural } from "../errors/plural.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { checkName, checkOptionsObject } from "./check-options.js";
import { type Emitter, EmitterCounters, flushReport } from "./emitter.js";
import { noEventMatching, received } from "./wait-failure.js";

/** A deep partial of an event: every given field must equal the event's; omitted fields match anything. */
export type EventMatch = DeepPartial<AuditEvent>;
type DeepPartial<T> = T extends Date
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** Options of `createMemoryEmitter`. */
export interface MemoryEmitterOptions {
  /** Name in stats and errors. Default: "memory". */
  name?: string;
  /** Most events kept; further events are dropped and counted as "capacity". Default: 100000. */
  capacity?: number;
}

/** The option names of `MemoryEmitterOptions`. */
const MEMORY_OPTION_NAMES = Object.keys({ name: 1, capacity: 1 } satisfies Record<
  keyof MemoryEmitterOptions,
  1
>);

/** An emitter keeping events in memory, with helpers for tests to find and wait for events. */
export interface MemoryEmitter extends Emitter {
  /** The events received, oldest first: the emitter's own array, which `clear()` empties (copy it to keep it). */
  readonly events: readonly AuditEvent[];
  /** The events matching `match`, oldest first. Throws an AuditConfigError for a `match` of another type. */
  filter(match: EventMatch | ((event: AuditEvent) => boolean)): AuditEvent[];
  /**
   * Resolves with the first event matching `match`, waiting for it to arrive. Rejects after `timeoutMs`
   * (default 2000) with an error, made at the call so its stack names the caller, that shows the match
   * and the last 10 events that did arrive (and how many events were dropped at capacity); at once when
   * the emitter is closed, or is closed while waiting, since no event can come then; with the
   * predicate's error when a predicate throws. Never throws.
   */
  waitFor(
    match: EventMatch | ((event: AuditEvent) => boolean),
    options?: { timeoutMs?: number },
  ): Promise<AuditEvent>;
  /**
   * Resolves once at least `count` events have arrived; rejects as `waitFor` does: after `timeoutMs`
   * (default 2000), or at once when the emitter is closed. Never throws.
   */
  waitForCount(count: number, options?: { timeoutMs?: number }): Promise<readonly AuditEvent[]>;
  /** Forgets every event received so far. Call it between tests: a wait resolves with an earlier test's event. */
  clear(): void;
}

/**
 * True when every field given in `match` equals the event's (dates by time, arrays element by element).
 * Throws an AuditConfigError when `event` or `match` is not an object.
 */
export function matchesEvent(event: AuditEvent, match: EventMatch): boolean {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new AuditConfigError(`matchesEvent: event must be an audit event, got ${shown(event)}`);
  }
  checkMatch("matchesEvent", match, false);
  return matches(event, match);
}

/** Throws an AuditConfigError for a match that is not an object of event fields (nor, if allowed, a function). */
function checkMatch(method: string, match: unknown, predicate: boolean): void {
  if (predicate && typeof match === "function") return;
  if (typeof match !== "object" || match === null || Array.isArray(match)) {
    const expected = predicate ? "an object of event fields or a function" : "an object of event fields";
    throw new AuditConfigError(`${method}: match must be ${expected}, got ${shown(match)}`);
  }
}

function matches(actual: unknown, expected: unknown): boolean {
  if (expected instanceof Date) return actual instanceof Date && actual.getTime() === expected.getTime();
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, i) => matches(actual[i], item))
    );
  }
  if (typeof expected === "object" && expected !== null) {
    if (typeof actual !== "object" || actual === null) return false;
    return Object.entries(expected).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v));
  }
  return Object.is(actual, expected);
}

/**
 * Creates an in-memory emitter for tests (exported from `grpc-audit/testing`).
 *
 * ```ts
 * const memory = createMemoryEmitter();
 * const recorder = createRecorder({ service: "test", emitters: [memory] });
 * await memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
 * ```
 */
export function createMemoryEmitter(options: MemoryEmitterOptions = {}): MemoryEmitter {
  checkOptionsObject("memory emitter", options);
  rejectUnknownOptions("memory emitter", options, MEMORY_OPTION_NAMES);
  checkName("memory emitter", options.name);
  const capacity = options.capacity ?? 100_000;
  if (!Number.isInteger(capacity) || capacity <= 0) {
    throw new AuditConfigError(`memory emitter: capacity must be a positive integer, got ${shown(capacity)}`);
  }
  const counters = new EmitterCounters(options.name ?? "memory");
  const events: AuditEvent[] = [];
  const waiters = new Set<Waiter>();
  let closed = false;

  /** The test of a checked match: a predicate as given, or `matches` against an object of fields. */
  const predicate = (match: EventMatch | ((event: AuditEvent) => boolean)) =>
    typeof match === "function" ? match : (event: AuditEvent) => matches(event, match);
  /** `failure`, made at the call so its stack names the caller, now saying why the wait failed. */
  const failed = (failure: Error, why: string) => {
    failure.message = `${why}; ${received(events)}`;
    return failure;
  };

  /**
   * Resolves with what `scan` (of the events kept, once, at the call) or `next` (of each event kept
   * later, and only of that one) returns first; else rejects with `failure`, its message starting with
   * `describe()`. emit runs on the RPC path: a pending wait costs it one test per event, not a rescan.
   */
  function waitUntil<T>(
    scan: () => T | undefined,
    next: (event: AuditEvent) => T | undefined,
    timeoutMs: number,
    describe: () => string,
    failure: Error,
  ): Promise<T> {
    let found: T | undefined;
    // A predicate that throws rejects, whether the event it throws on came before the call or after.
    try {
      found = scan();
    } catch (error) {
      return Promise.reject(error);
    }
    if (found !== undefined) return Promise.resolve(found);
    // A closed emitter takes no more events: what is not there now never comes.
    if (closed) {
      const since = plural(counters.dropped.closed ?? 0, "event");
      return Promise.reject(
        failed(
          failure,
          `${describe()}, and the emitter is closed, so none can come (${since} dropped since)`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        waiters.delete(waiter);
        clearTimeout(timer);
      };
      const waiter: Waiter = {
        onEvent: (event) => {
          let value: T | undefined;
          try {
            value = next(event);
          } catch (error) {
            settle();
            reject(error);
            return;
          }
          if (value === undefined) return;
          settle();
          resolve(value);
        },
        onClose: () => {
          settle();
          reject(failed(failure, `${describe()} before the emitter was closed`));
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        const full = counters.dropped.capacity ?? 0;
        const why = full === 0 ? "" : `; ${plural(full, "event")} dropped at capacity (it keeps ${capacity})`;
        reject(failed(failure, `${describe()} within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  const waitFor: MemoryEmitter["waitFor"] = function waitFor(match, waitOptions = {}) {
    const failure = callerError(waitFor);
    try {
      checkMatch("memory emitter: waitFor", match, true);
      checkWaitOptions("waitFor", waitOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    const test = predicate(match);
    return waitUntil(
      () => events.find(test),
      (event) => (test(event) ? event : undefined),
      waitOptions.timeoutMs ?? 2000,
      () => noEventMatching(match),
      failure,
    );
  };

  const waitForCount: MemoryEmitter["waitForCount"] = function waitForCount(count, waitOptions = {}) {
    const failure = callerError(waitForCount);
    try {
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new AuditConfigError(
          `memory emitter: waitForCount: count must be a whole number ≥ 0, got ${shown(count)}`,
        );
      }
      checkWaitOptions("waitForCount", waitOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    const enough = () => (events.length >= count ? events.slice() : undefined);
    return waitUntil(
      enough,
      enough,
      waitOptions.timeoutMs ?? 2000,
      () => (count === 1 ? "no event" : `fewer than ${count} events`),
      failure,
    );
  };

  return {
    name: counters.name,
    events,
    emit(event) {
      if (closed) return counters.drop("closed");
      if (events.length >= capacity) return counters.drop("capacity");
      events.push(event);
      counters.emitted++;
      if (waiters.size > 0) for (const waiter of [...waiters]) waiter.onEvent(event);
      return "accepted";
    },
    flush: async () => flushReport(counters.name),
    close: async () => {
      closed = true;
      // Waits that nothing can end any more reject now, not at their timeout.
      for (const waiter of [...waiters]) waiter.onClose();
      return flushReport(counters.name);
    },
    stats: () => counters.snapshot(),
    filter(match) {
      checkMatch("memory emitter: filter", match, true);
      return events.filter(predicate(match));
    },
    waitFor,
    waitForCount,
    clear() {
      events.length = 0;
    },
  };
}

/**
 * Throws an AuditConfigError for options of `waitFor`/`waitForCount` that would not wait as asked: an
 * unknown name, or a `timeoutMs` Node fires at once (negative, NaN, longer than a timer holds).
 */
function checkWaitOptions(method: string, options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError(`memory emitter: ${method}: options must be an object, got ${shown(options)}`);
  }
  rejectUnknownOptions(`memory emitter: ${method}`, options, ["timeoutMs"]);
  const { timeoutMs } = options as { timeoutMs?: unknown };
  if (timeoutMs !== undefined)
    checkTimerMs(`memory emitter: ${method}: \`timeoutMs\``, timeoutMs, { min: 0, integer: false });
}

/**
 * An Error whose stack starts at the caller of `method`: a wait that fails later rejects with it, so
 * the failure points at the test's line, not at a timer.
 */
function callerError(method: (...args: never[]) => unknown): Error {
  const error = new Error("wait failed");
  Error.captureStackTrace(error, method);
  return error;
}

/** A wait in progress: told of each event kept, and of the close. */
interface Waiter {
  onEvent(event: AuditEvent): void;
  onClose(): void;
}
