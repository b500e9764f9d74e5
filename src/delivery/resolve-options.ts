import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs, shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { EVENT_KINDS, isEventKind, KIND_NAMES } from "../event/kinds.js";
import type { RetryPolicy } from "./backoff.js";
import {
  DELIVERY_DEFAULTS,
  DELIVERY_OPTION_NAMES,
  type DeliveryEmitterOptions,
  OVERFLOW_POLICIES,
  type OverflowPolicy,
  type OverflowPolicyMap,
  type ResolvedDeliveryOptions,
  type ResolvedSpoolOptions,
  type RetryOptions,
  type SpoolOptions,
} from "./options.js";

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

/** The options that set a timer (warnIntervalMs is only compared with the clock). */
const TIMER_OPTIONS: ReadonlySet<NumericOption> = new Set<NumericOption>([
  "flushIntervalMs",
  "writeTimeoutMs",
  "flushTimeoutMs",
  "closeTimeoutMs",
]);

const fail = (message: string): never => {
  throw new AuditConfigError(`delivery emitter: ${message}`);
};

function check(value: unknown, path: string, kind: "count" | "ms" | "factor", timer = false): number {
  if (timer) return checkTimerMs(`delivery emitter: ${path}`, value, { min: 0, integer: false });
  const ok =
    typeof value === "number" &&
    (kind === "count"
      ? Number.isInteger(value) && value > 0
      : kind === "ms"
        ? Number.isFinite(value) && value >= 0
        : value >= 1 && Number.isFinite(value));
  if (!ok) {
    const what = { count: "a positive integer", ms: "a number of ms ≥ 0", factor: "a number ≥ 1" }[kind];
    fail(`${path} must be ${what}, got ${shown(value)}`);
  }
  return value as number;
}

function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** The smallest `maxEventBytes` taken: an event with an actor, a target and an operation is a few hundred bytes. */
const MIN_EVENT_BYTES = 1024;

const PARK_IS = "emit never waits: the policy parks events until there is room";

const LABEL = "delivery emitter";

/**
 * Refuses option names the emitter does not know, so a misspelt one never silently takes its default;
 * a name renamed in this 0.x version fails with the new name.
 */
function rejectUnknown(options: DeliveryEmitterOptions): void {
  if ("block" in options) fail(`\`block\` is now \`park\` (the "park" overflow policy's limits); ${PARK_IS}`);
  rejectUnknownOptions(LABEL, options, DELIVERY_OPTION_NAMES.top);
  for (const key of ["retry", "park", "spool"] as const) {
    const nested: unknown = options[key];
    if (nested === undefined) continue;
    if (typeof nested !== "object" || nested === null || Array.isArray(nested))
      fail(
        `${key} must be an object${key === "spool" ? " with a `path`" : ` of ${key} options`}, got ${shown(nested)}`,
      );
    rejectUnknownOptions(`${LABEL}: ${key}`, nested as object, DELIVERY_OPTION_NAMES[key]);
  }
}

/** Resolves and checks the options; throws an AuditConfigError naming the first bad option. @internal */
export function resolveDeliveryOptions(options: DeliveryEmitterOptions): ResolvedDeliveryOptions {
  if (typeof options !== "object" || options === null) fail("options must be an object with a `sink`");
  const { sink } = options;
  if (typeof sink !== "object" || sink === null || typeof sink.write !== "function") {
    fail("`sink` must be an EventSink (an object with a write(batch) method)");
  }
  rejectUnknown(options);
  const d = DELIVERY_DEFAULTS;
  const num = (key: NumericOption, kind: "count" | "ms") =>
    check(orDefault(options[key], d[key]), key, kind, TIMER_OPTIONS.has(key));
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
  if (options.maxEventBytes !== undefined) {
    const maxEventBytes = check(options.maxEventBytes, "maxEventBytes", "count");
    // Below it every real event would be dropped as too large: a unit mistake, not a limit.
    if (maxEventBytes < MIN_EVENT_BYTES)
      fail(`maxEventBytes must be at least ${MIN_EVENT_BYTES} (1 KiB), got ${maxEventBytes}`);
    limits.push(maxEventBytes);
  }
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
    park: Object.freeze({
      timeoutMs: check(orDefault(options.park?.timeoutMs, d.park.timeoutMs), "park.timeoutMs", "ms", true),
      maxParked: check(orDefault(options.park?.maxParked, d.park.maxParked), "park.maxParked", "count"),
    }),
    spool,
    flushTimeoutMs: num("flushTimeoutMs", "ms"),
    closeTimeoutMs: num("closeTimeoutMs", "ms"),
    warnIntervalMs: num("warnIntervalMs", "ms"),
    onError: checkFunction(options.onError, "onError"),
    onSinkRecovered: checkFunction(options.onSinkRecovered, "onSinkRecovered"),
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
    true,
  );
  const maxDelayMs = check(orDefault(retry?.maxDelayMs, d.maxDelayMs), "retry.maxDelayMs", "ms", true);
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
    if ((policy as string) === "block") fail(`${path} is "block", which is now called "park"; ${PARK_IS}`);
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
      true,
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
