import type { EventSink } from "../emitters/sink.js";
import type { EventKind } from "../event/kinds.js";
import type { Jitter, RetryPolicy } from "./backoff.js";

/**
 * What happens to an event that finds the queue full:
 * - "drop-newest": the new event is dropped (emit returns "dropped", reason "queue_full").
 * - "drop-oldest": the oldest queued event that is not being written is dropped to make room (reason
 *   "queue_full", counted under the dropped event's kind) and the new event is accepted.
 * - "park": emit never waits, so the event is parked in a small bounded list and enters the queue as
 *   soon as there is room, oldest first; after `park.timeoutMs` it is dropped ("park_timeout"). A
 *   full parked list drops at once ("parked_full"). emit returns "accepted" for a parked event.
 * - "spool": the event is written to the spool (needs `spool`); "spool_full" when it does not fit
 *   (or the disk is full), "spool_error" while the spool cannot commit for another reason.
 * - "fail-rpc": emit returns "failed", so a fail-closed interceptor answers UNAVAILABLE.
 */
export type OverflowPolicy = "drop-newest" | "drop-oldest" | "park" | "spool" | "fail-rpc";

/**
 * The overflow policies, in the order of the documentation.
 * @internal
 */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = [
  "drop-newest",
  "drop-oldest",
  "park",
  "spool",
  "fail-rpc",
];

/** An overflow policy per event kind; `default` covers kinds not listed. */
export type OverflowPolicyMap = Partial<Record<EventKind | "default", OverflowPolicy>>;

/** Retry of failed sink writes: exponential backoff with jitter. */
export interface RetryOptions {
  /** Delay bound of the first retry. Default: 100. */
  initialDelayMs?: number;
  /** Largest delay. Default: 30000. */
  maxDelayMs?: number;
  /** Growth of the delay bound per retry, at least 1. Default: 2. */
  multiplier?: number;
  /** "full" (random in [0, bound]) or "decorrelated" (random in [initial, previous × multiplier]). Default: "full". */
  jitter?: Jitter;
}

/** The "park" overflow policy's limits. */
export interface ParkOptions {
  /** How long a parked event waits for queue space before it is dropped. Default: 100. */
  timeoutMs?: number;
  /** Most events parked at once; more are dropped at once ("parked_full"). Default: 1000. */
  maxParked?: number;
}

/** The durable spool: a SQLite file (WAL) on local disk. Needs the optional peer `better-sqlite3`. */
export interface SpoolOptions {
  /**
   * The spool file; created (mode 0600) with its folder (0700) when missing. One emitter at a time
   * may have it open: it is locked through `<path>.lock`, and a second emitter on it, in this process
   * or another, throws an AuditConfigError naming the holder's pid. Give each process its own path.
   */
  path: string;
  /** Most bytes of encoded events the spool holds (SQLite's own overhead not counted). Default: 268435456 (256 MiB). */
  maxBytes?: number;
  /**
   * Spooled events are written by one transaction per interval (group commit). 1 to 2147483647 (what
   * a Node timer holds); 0 is refused, it would commit in a loop. Default: 50.
   */
  commitIntervalMs?: number;
  /**
   * Every accepted event is committed to the spool before it is delivered, so a crash (kill -9)
   * loses only the events accepted since the last commit: at most `maxUncommittedEvents`, and no
   * more than `commitIntervalMs` of them while the event loop is free. Default: false (events go
   * through the spool only when the sink is down or the policy says "spool").
   */
  writeAhead?: boolean;
  /**
   * With `writeAhead`: when this many accepted events would wait for the next commit, `emit` commits
   * them at once (synchronously) with the new one, so a burst that keeps the event loop busy cannot
   * outgrow the window a crash loses. A new event that commit cannot take is refused ("spool_full": the
   * spool is at maxBytes or the disk is full; "spool_error": SQLite refused the commit). Default: 1000.
   */
  maxUncommittedEvents?: number;
  /** The sink counts as down, and queued events go to the spool, once one batch failed for this long. Default: 5000. */
  spoolAfterMs?: number;
  /** ... or once one batch failed this many times. Default: Infinity (time only). */
  spoolAfterAttempts?: number;
  /** SQLite's `synchronous`: "full" survives power loss, "normal" survives a process crash. Default: "full". */
  synchronous?: "full" | "normal";
}

/** Options of `createDeliveryEmitter`. Every bound is checked at construction. */
export interface DeliveryEmitterOptions {
  /** Where batches are written. Required. */
  sink: EventSink;
  /** Name in stats and errors. Default: the sink's name. */
  name?: string;
  /** Most events held in memory (queued or being written). Default: 10000. */
  maxQueueEvents?: number;
  /** Most bytes of encoded events held in memory (queued or being written). Default: 16777216 (16 MiB). */
  maxQueueBytes?: number;
  /** Most events per sink write. Default: 512. */
  maxBatchEvents?: number;
  /** Most encoded bytes per sink write. Default: 1048576 (1 MiB). */
  maxBatchBytes?: number;
  /** A batch smaller than the limits is written at the latest this long after it started filling. Default: 200. */
  flushIntervalMs?: number;
  /**
   * Most batches being written at once. With 1 the next batch waits for the sink to acknowledge the
   * one before it, so the sink takes events in order even when writes fail. With more, batches are
   * handed to the sink in order without waiting (the sink is called again before earlier writes
   * settled, and should send in the order of the calls), which keeps a broker's connection busy; each
   * batch leaves the queue or the spool when it is acknowledged. A batch that fails is retried while
   * later ones may already have been taken, so after a failure the sink can receive events out of
   * order. Default: 1 (`createBrokerEmitter`, to a broker that keeps concurrent publishes in order such
   * as NATS: 4).
   */
  maxInFlightBatches?: number;
  /**
   * Largest encoded event accepted; larger ones are refused at emit ("too_large") and never retried.
   * At least 1024. Default: the sink's `maxEventBytes`, else no limit beyond `maxBatchBytes` and
   * `maxQueueBytes`.
   */
  maxEventBytes?: number;
  /**
   * A sink write that has not settled after this long is aborted and retried. 1 to 2147483647 (what
   * a Node timer holds); 0 is refused, it would abort every write at once. Default: 30000.
   */
  writeTimeoutMs?: number;
  /**
   * Retry of failed writes. Retries go on forever, unless the spool takes the batch or close() gives up.
   * A spool commit that fails (full disk) is tried again after the same backoff, at least commitIntervalMs;
   * so are spool reads and deletes SQLite refuses.
   * Default: each field's default (delays from 100 ms, doubling, up to 30000 ms, "full" jitter).
   */
  retry?: RetryOptions;
  /** Overflow policy, one for all or per event kind. Default: "drop-newest". */
  overflow?: OverflowPolicy | OverflowPolicyMap;
  /** Limits of the "park" policy. Default: each field's default (wait 100 ms, at most 1000 parked). */
  park?: ParkOptions;
  /** The durable spool. Default: none (events that cannot be delivered stay in memory, then are dropped). */
  spool?: SpoolOptions;
  /** How long `flush()` waits by default. Default: 30000. */
  flushTimeoutMs?: number;
  /** How long `close()` drains by default. Default: 30000. */
  closeTimeoutMs?: number;
  /**
   * Drops and spool failures are reported at most once per reason per interval, sink failures at most
   * once per cause (a changed cause at once), each with the count; `close()` reports the drops held
   * back. Default: 10000.
   */
  warnIntervalMs?: number;
  /** Called with drop warnings, sink failures and spool problems. Default: ignore (all are counted in stats). */
  onError?: (error: Error) => void;
  /**
   * Called when a write succeeds after a sink failure was reported to `onError` (and, at most once per
   * `warnIntervalMs`, after failures that were all held back), with the failures since the last
   * recovery and those no report counted yet. Not an error, so not passed to `onError`.
   * Default: ignore (`stats().delivered` and `retried` still count).
   */
  onSinkRecovered?: (recovery: {
    /** The emitter's name. */
    emitter: string;
    /** Writes that failed since the last recovery was reported (a flapping sink's included). */
    failedWrites: number;
    /** The part of `failedWrites` that no `onError` report counted (held back by `warnIntervalMs`). */
    unreported: number;
    /** The error of the last failed write, as `onError` got it as `cause`. */
    lastError: Error;
  }) => void;
  /** For tests: waits between retries. Default: a timer that does not keep the process alive. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: the jitter's random numbers in [0, 1). Default: Math.random. */
  random?: () => number;
}

/**
 * The defaults of `DeliveryEmitterOptions`.
 * @internal
 */
export const DELIVERY_DEFAULTS = Object.freeze({
  maxQueueEvents: 10_000,
  maxQueueBytes: 16 * 1024 * 1024,
  maxBatchEvents: 512,
  maxBatchBytes: 1024 * 1024,
  flushIntervalMs: 200,
  maxInFlightBatches: 1,
  writeTimeoutMs: 30_000,
  flushTimeoutMs: 30_000,
  closeTimeoutMs: 30_000,
  warnIntervalMs: 10_000,
  overflow: "drop-newest" as OverflowPolicy,
  retry: Object.freeze({ initialDelayMs: 100, maxDelayMs: 30_000, multiplier: 2, jitter: "full" as Jitter }),
  park: Object.freeze({ timeoutMs: 100, maxParked: 1000 }),
  spool: Object.freeze({
    maxBytes: 256 * 1024 * 1024,
    commitIntervalMs: 50,
    writeAhead: false,
    maxUncommittedEvents: 1000,
    spoolAfterMs: 5000,
    spoolAfterAttempts: Number.POSITIVE_INFINITY,
    synchronous: "full" as "full" | "normal",
  }),
});

/**
 * The option names of `DeliveryEmitterOptions` and its nested objects, which the emitter checks the
 * caller's against (the record types make a name missing here, or one the interface lacks, a compile
 * error).
 * @internal
 */
export const DELIVERY_OPTION_NAMES = Object.freeze({
  top: Object.keys({
    sink: 1,
    name: 1,
    maxQueueEvents: 1,
    maxQueueBytes: 1,
    maxBatchEvents: 1,
    maxBatchBytes: 1,
    flushIntervalMs: 1,
    maxInFlightBatches: 1,
    maxEventBytes: 1,
    writeTimeoutMs: 1,
    retry: 1,
    overflow: 1,
    park: 1,
    spool: 1,
    flushTimeoutMs: 1,
    closeTimeoutMs: 1,
    warnIntervalMs: 1,
    onError: 1,
    onSinkRecovered: 1,
    sleep: 1,
    random: 1,
  } satisfies Record<keyof DeliveryEmitterOptions, 1>),
  retry: Object.keys({ initialDelayMs: 1, maxDelayMs: 1, multiplier: 1, jitter: 1 } satisfies Record<
    keyof RetryOptions,
    1
  >),
  park: Object.keys({ timeoutMs: 1, maxParked: 1 } satisfies Record<keyof ParkOptions, 1>),
  spool: Object.keys({
    path: 1,
    maxBytes: 1,
    commitIntervalMs: 1,
    writeAhead: 1,
    maxUncommittedEvents: 1,
    spoolAfterMs: 1,
    spoolAfterAttempts: 1,
    synchronous: 1,
  } satisfies Record<keyof SpoolOptions, 1>),
});

/** Resolved spool options. */
export type ResolvedSpoolOptions = Readonly<Required<SpoolOptions>>;

/**
 * Where options are checked for: the entry point the caller called (its messages begin with `label`)
 * and where the delivery options sit in its own (`path`, "" or "delivery."), so a message names an
 * option as the caller wrote it: "broker emitter: delivery.maxQueueEvents", not the pipeline's name.
 * @internal
 */
export interface DeliveryOptionsPlace {
  readonly label: string;
  readonly path: string;
}

/** The options of `createDeliveryEmitter`, called directly. @internal */
export const DIRECT_PLACE: DeliveryOptionsPlace = Object.freeze({ label: "delivery emitter", path: "" });

/**
 * Options after defaults and checks; never the caller's object.
 * @internal
 */
export interface ResolvedDeliveryOptions {
  readonly sink: EventSink;
  readonly name: string;
  readonly maxQueueEvents: number;
  readonly maxQueueBytes: number;
  readonly maxBatchEvents: number;
  readonly maxBatchBytes: number;
  readonly flushIntervalMs: number;
  readonly maxInFlightBatches: number;
  /** The effective limit: the smallest of maxEventBytes, the sink's, maxBatchBytes, maxQueueBytes and spool.maxBytes. */
  readonly maxEventBytes: number;
  readonly writeTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** By kind index (KIND_NAMES). */
  readonly policies: readonly OverflowPolicy[];
  readonly park: Readonly<Required<ParkOptions>>;
  readonly spool: ResolvedSpoolOptions | undefined;
  readonly flushTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly warnIntervalMs: number;
  readonly onError: ((error: Error) => void) | undefined;
  readonly onSinkRecovered: DeliveryEmitterOptions["onSinkRecovered"];
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /**
   * Inconsistent but usable options that were clamped, each naming the options as the caller wrote
   * them ("broker emitter: delivery.maxBatchEvents …"); reported once through onError.
   */
  readonly warnings: readonly string[];
  /** Where the options were given: errors opening the spool name its path option as the caller wrote it. */
  readonly place: DeliveryOptionsPlace;
  /**
   * For tests, never set by resolveDeliveryOptions: sees each connection the spool opens, so a test
   * can set `PRAGMA max_page_count` on it and make the file unable to grow, as on a full disk
   * (typed without better-sqlite3, whose types public declarations must not need).
   */
  readonly spoolOpened?: (db: { pragma(source: string): unknown }) => void;
}
