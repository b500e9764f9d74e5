import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { EVENT_KINDS, type EventKind, isEventKind, KIND_NAMES } from "../event/kinds.js";
import type { Jitter, RetryPolicy } from "./backoff.js";

/**
 * What happens to an event that finds the queue full:
 * - "drop-newest": the new event is dropped (emit returns "dropped", reason "queue_full").
 * - "drop-oldest": the oldest queued event that is not being written is dropped to make room (reason
 *   "queue_full", counted under the dropped event's kind) and the new event is accepted.
 * - "block": emit cannot wait, so the event is parked in a small bounded list and enters the queue as
 *   soon as there is room, oldest first; after `block.timeoutMs` it is dropped ("block_timeout"). A
 *   full parked list drops at once ("parked_full"). emit returns "accepted" for a parked event.
 * - "spool": the event is written to the spool (needs `spool`); "spool_full" when it does not fit.
 * - "fail-rpc": emit returns "failed", so a fail-closed interceptor answers UNAVAILABLE.
 */
export type OverflowPolicy = "drop-newest" | "drop-oldest" | "block" | "spool" | "fail-rpc";

/** The overflow policies, in the order of the documentation. */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = [
  "drop-newest",
  "drop-oldest",
  "block",
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

/** The "block" overflow policy's limits. */
export interface BlockOptions {
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
  /** Spooled events are written by one transaction per interval (group commit). Default: 50. */
  commitIntervalMs?: number;
  /**
   * Every accepted event is committed to the spool before it is delivered, so a crash (kill -9)
   * loses only the events accepted since the last commit: at most `maxUncommittedEvents`, and no
   * more than `commitIntervalMs` of them while the event loop is free. Default: false (events go
   * through the spool only when the sink is down or the policy says "spool").
   */
  writeAhead?: boolean;
  /**
   * With `writeAhead`: when this many accepted events wait for the next commit, `emit` commits them
   * at once (synchronously), so a burst that keeps the event loop busy cannot outgrow the window a
   * crash loses. Default: 1000.
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
   * Default: the sink's `maxEventBytes`, else no limit beyond `maxBatchBytes` and `maxQueueBytes`.
   */
  maxEventBytes?: number;
  /** A sink write that has not settled after this long is aborted and retried. Default: 30000. */
  writeTimeoutMs?: number;
  /** Retry of failed writes. Retries go on forever, unless the spool takes the batch or close() gives up. */
  retry?: RetryOptions;
  /** Overflow policy, one for all or per event kind. Default: "drop-newest". */
  overflow?: OverflowPolicy | OverflowPolicyMap;
  /** Limits of the "block" policy. */
  block?: BlockOptions;
  /** The durable spool. Default: none (events that cannot be delivered stay in memory, then are dropped). */
  spool?: SpoolOptions;
  /** How long `flush()` waits by default. Default: 30000. */
  flushTimeoutMs?: number;
  /** How long `close()` drains by default. Default: 30000. */
  closeTimeoutMs?: number;
  /** Drops and sink failures are reported at most once per reason per interval, with the count. Default: 10000. */
  warnIntervalMs?: number;
  /** Called with drop warnings, sink failures and spool problems. Default: ignore (all are counted in stats). */
  onError?: (error: Error) => void;
  /** For tests: waits between retries. Default: a timer that does not keep the process alive. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: the jitter's random numbers in [0, 1). Default: Math.random. */
  random?: () => number;
}

/** The defaults of `DeliveryEmitterOptions`. */
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
  block: Object.freeze({ timeoutMs: 100, maxParked: 1000 }),
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

/** Resolved spool options. */
export type ResolvedSpoolOptions = Readonly<Required<SpoolOptions>>;

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
  readonly block: Readonly<Required<BlockOptions>>;
  readonly spool: ResolvedSpoolOptions | undefined;
  readonly flushTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly warnIntervalMs: number;
  readonly onError: ((error: Error) => void) | undefined;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Inconsistent but usable options that were clamped; reported once through onError. */
  readonly warnings: readonly string[];
}

/** The top-level options that are plain numbers. */
type NumericOption =
  | "maxQueueEvents"
  | "maxQueueBytes"
  | "maxBatchEvents"
  | "maxBatchBytes"
  | "flushIntervalMs"
  | "maxInFlightBatches"
  | "writeTimeoutMs"
  | "flushTimeoutMs"
  | "closeTimeoutMs"
  | "warnIntervalMs";

const fail = (message: string): never => {
  throw new AuditConfigError(`delivery emitter: ${message}`);
};

function check(value: unknown, path: string, kind: "count" | "ms" | "factor"): number {
  const ok =
    typeof value === "number" &&
    (kind === "count"
      ? Number.isInteger(value) && value > 0
      : kind === "ms"
        ? Number.isFinite(value) && value >= 0
        : value >= 1 && Number.isFinite(value));
  if (!ok) {
    const what = { count: "a positive integer", ms: "a number of ms ≥ 0", factor: "a number ≥ 1" }[kind];
    fail(`${path} must be ${what}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  }
  return value as number;
}

function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** Resolves and checks the options; throws an AuditConfigError naming the first bad option. @internal */
export function resolveDeliveryOptions(options: DeliveryEmitterOptions): ResolvedDeliveryOptions {
  if (typeof options !== "object" || options === null) fail("options must be an object with a `sink`");
  const { sink } = options;
  if (typeof sink !== "object" || sink === null || typeof sink.write !== "function") {
    fail("`sink` must be an EventSink (an object with a write(batch) method)");
  }
  const d = DELIVERY_DEFAULTS;
  const num = (key: NumericOption, kind: "count" | "ms") => check(orDefault(options[key], d[key]), key, kind);
  const maxQueueEvents = num("maxQueueEvents", "count");
  const maxQueueBytes = num("maxQueueBytes", "count");
  const maxBatchEvents = num("maxBatchEvents", "count");
  const maxBatchBytes = num("maxBatchBytes", "count");
  const warnings: string[] = [];
  // A batch can never be larger than the queue it is taken from: usable, but say so and clamp (a
  // default batch size above a small queue is clamped silently).
  if (options.maxBatchEvents !== undefined && maxBatchEvents > maxQueueEvents) {
    warnings.push(`maxBatchEvents ${maxBatchEvents} exceeds maxQueueEvents; using ${maxQueueEvents}`);
  }
  if (options.maxBatchBytes !== undefined && maxBatchBytes > maxQueueBytes) {
    warnings.push(`maxBatchBytes ${maxBatchBytes} exceeds maxQueueBytes; using ${maxQueueBytes}`);
  }
  const limits = [maxBatchBytes, maxQueueBytes];
  if (options.maxEventBytes !== undefined)
    limits.push(check(options.maxEventBytes, "maxEventBytes", "count"));
  if (sink.maxEventBytes !== undefined) limits.push(check(sink.maxEventBytes, "sink.maxEventBytes", "count"));
  const name = orDefault(options.name, sink.name);
  if (typeof name !== "string" || name === "") fail("name (or the sink's name) must be a non-empty string");
  const spool = resolveSpool(options.spool);
  // An event larger than the whole spool could never be spooled, and would block write-ahead mode.
  if (spool !== undefined) limits.push(spool.maxBytes);
  return Object.freeze({
    sink,
    name,
    maxQueueEvents,
    maxQueueBytes,
    maxBatchEvents: Math.min(maxBatchEvents, maxQueueEvents),
    maxBatchBytes: Math.min(maxBatchBytes, maxQueueBytes),
    flushIntervalMs: num("flushIntervalMs", "ms"),
    maxInFlightBatches: num("maxInFlightBatches", "count"),
    maxEventBytes: Math.min(...limits),
    writeTimeoutMs: num("writeTimeoutMs", "count"),
    retry: resolveRetry(options.retry),
    policies: resolvePolicies(options.overflow, spool !== undefined),
    block: Object.freeze({
      timeoutMs: check(orDefault(options.block?.timeoutMs, d.block.timeoutMs), "block.timeoutMs", "ms"),
      maxParked: check(orDefault(options.block?.maxParked, d.block.maxParked), "block.maxParked", "count"),
    }),
    spool,
    flushTimeoutMs: num("flushTimeoutMs", "ms"),
    closeTimeoutMs: num("closeTimeoutMs", "ms"),
    warnIntervalMs: num("warnIntervalMs", "ms"),
    onError: checkFunction(options.onError, "onError"),
    sleep: checkFunction(options.sleep, "sleep") ?? sleepUnref,
    random: checkFunction(options.random, "random") ?? Math.random,
    warnings,
  });
}

function checkFunction<F>(value: F | undefined, path: string): F | undefined {
  if (value !== undefined && typeof value !== "function") fail(`${path} must be a function`);
  return value;
}

function resolveRetry(retry: RetryOptions | undefined): RetryPolicy {
  const d = DELIVERY_DEFAULTS.retry;
  const initialDelayMs = check(
    orDefault(retry?.initialDelayMs, d.initialDelayMs),
    "retry.initialDelayMs",
    "ms",
  );
  const maxDelayMs = check(orDefault(retry?.maxDelayMs, d.maxDelayMs), "retry.maxDelayMs", "ms");
  if (maxDelayMs < initialDelayMs) fail("retry.maxDelayMs must not be below retry.initialDelayMs");
  const jitter = orDefault(retry?.jitter, d.jitter);
  if (jitter !== "full" && jitter !== "decorrelated") {
    fail(`retry.jitter must be "full" or "decorrelated", got ${String(jitter)}`);
  }
  return Object.freeze({
    initialDelayMs,
    maxDelayMs,
    multiplier: check(orDefault(retry?.multiplier, d.multiplier), "retry.multiplier", "factor"),
    jitter,
  });
}

function resolvePolicies(
  overflow: OverflowPolicy | OverflowPolicyMap | undefined,
  hasSpool: boolean,
): readonly OverflowPolicy[] {
  const map: OverflowPolicyMap =
    typeof overflow === "object" && overflow !== null
      ? overflow
      : { default: orDefault(overflow, DELIVERY_DEFAULTS.overflow) };
  for (const [key, policy] of Object.entries(map)) {
    const path = typeof overflow === "object" ? `overflow.${key}` : "overflow";
    if (key !== "default" && !isEventKind(key)) {
      fail(`${path}: unknown event kind; known kinds: ${EVENT_KINDS.join(", ")}, default`);
    }
    if (!OVERFLOW_POLICIES.includes(policy)) {
      fail(`${path} must be one of ${OVERFLOW_POLICIES.join(", ")}, got ${String(policy)}`);
    }
    if (policy === "spool" && !hasSpool) fail(`${path} is "spool" but no \`spool\` is configured`);
  }
  const fallback = orDefault(map.default, DELIVERY_DEFAULTS.overflow);
  return Object.freeze(
    KIND_NAMES.map((kind) => (kind === "unspecified" ? fallback : (map[kind] ?? fallback))),
  );
}

function resolveSpool(spool: SpoolOptions | undefined): ResolvedSpoolOptions | undefined {
  if (spool === undefined) return undefined;
  if (typeof spool !== "object" || spool === null) fail("spool must be an object with a `path`");
  if (typeof spool.path !== "string" || spool.path === "") fail("spool.path must be a non-empty string");
  const d = DELIVERY_DEFAULTS.spool;
  const attempts = orDefault(spool.spoolAfterAttempts, d.spoolAfterAttempts);
  if (attempts !== Number.POSITIVE_INFINITY) check(attempts, "spool.spoolAfterAttempts", "count");
  const synchronous = orDefault(spool.synchronous, d.synchronous);
  if (synchronous !== "full" && synchronous !== "normal") {
    fail(`spool.synchronous must be "full" or "normal", got ${String(synchronous)}`);
  }
  if (spool.writeAhead !== undefined && typeof spool.writeAhead !== "boolean") {
    fail("spool.writeAhead must be a boolean");
  }
  return Object.freeze({
    path: spool.path,
    maxBytes: check(orDefault(spool.maxBytes, d.maxBytes), "spool.maxBytes", "count"),
    commitIntervalMs: check(
      orDefault(spool.commitIntervalMs, d.commitIntervalMs),
      "spool.commitIntervalMs",
      "count",
    ),
    writeAhead: orDefault(spool.writeAhead, d.writeAhead),
    maxUncommittedEvents: check(
      orDefault(spool.maxUncommittedEvents, d.maxUncommittedEvents),
      "spool.maxUncommittedEvents",
      "count",
    ),
    spoolAfterMs: check(orDefault(spool.spoolAfterMs, d.spoolAfterMs), "spool.spoolAfterMs", "ms"),
    spoolAfterAttempts: attempts,
    synchronous,
  });
}

/** Waits without keeping the process alive. */
function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
