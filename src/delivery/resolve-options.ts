import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs, shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { EVENT_KINDS, isEventKind, KIND_NAMES } from "../event/kinds.js";
import type { RetryPolicy } from "./backoff.js";
import {
  DELIVERY_DEFAULTS,
  DELIVERY_OPTION_NAMES,
  type DeliveryEmitterOptions,
  type DeliveryOptionsPlace,
  DIRECT_PLACE,
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

/**
 * The options that set a timer (warnIntervalMs is only compared with the clock), with the least each
 * takes: 0 where it means "at once" (a flush interval of 0 writes each event as it comes), 1 where 0
 * would end every wait before it began (a write timeout of 0 aborts every write, so nothing is ever
 * delivered).
 */
const TIMER_MIN: ReadonlyMap<NumericOption, 0 | 1> = new Map<NumericOption, 0 | 1>([
  ["flushIntervalMs", 0],
  ["writeTimeoutMs", 1],
  ["flushTimeoutMs", 0],
  ["closeTimeoutMs", 0],
]);

/** How the checks name things for one place: `at` gives an option's path, `fail` throws. */
interface Naming {
  readonly place: DeliveryOptionsPlace;
  at(path: string): string;
  fail(message: string): never;
}

function naming(place: DeliveryOptionsPlace): Naming {
  return {
    place,
    at: (path) => `${place.path}${path}`,
    fail: (message) => {
      throw new AuditConfigError(`${place.label}: ${message}`);
    },
  };
}

/**
 * Checks one option. `timerMin` makes it a timer option: a number of ms from `timerMin` to what a
 * Node timer holds.
 */
function check(
  n: Naming,
  value: unknown,
  path: string,
  kind: "count" | "ms" | "factor",
  timerMin?: 0 | 1,
): number {
  if (timerMin !== undefined)
    return checkTimerMs(`${n.place.label}: ${n.at(path)}`, value, { min: timerMin, integer: false });
  const ok =
    typeof value === "number" &&
    (kind === "count"
      ? Number.isInteger(value) && value > 0
      : kind === "ms"
        ? Number.isFinite(value) && value >= 0
        : value >= 1 && Number.isFinite(value));
  if (!ok) {
    const what = { count: "a positive integer", ms: "a number of ms ≥ 0", factor: "a number ≥ 1" }[kind];
    n.fail(`${n.at(path)} must be ${what}, got ${shown(value)}`);
  }
  return value as number;
}

function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** The smallest `maxEventBytes` taken: an event with an actor, a target and an operation is a few hundred bytes. */
const MIN_EVENT_BYTES = 1024;

const PARK_IS = "emit never waits: the policy parks events until there is room";

/**
 * Refuses option names the emitter does not know, so a misspelt one never silently takes its default;
 * a name renamed in this 0.x version fails with the new name.
 */
function rejectUnknown(n: Naming, options: DeliveryEmitterOptions): void {
  if ("block" in options)
    n.fail(
      `\`${n.at("block")}\` is now \`${n.at("park")}\` (the "park" overflow policy's limits); ${PARK_IS}`,
    );
  const { label, path } = n.place;
  rejectUnknownOptions(
    path === "" ? label : `${label}: ${path.slice(0, -1)}`,
    options,
    DELIVERY_OPTION_NAMES.top,
  );
  for (const key of ["retry", "park", "spool"] as const) {
    const nested: unknown = options[key];
    if (nested === undefined) continue;
    if (typeof nested !== "object" || nested === null || Array.isArray(nested))
      n.fail(
        `${n.at(key)} must be an object${key === "spool" ? " with a `path`" : ` of ${key} options`}, got ${shown(nested)}`,
      );
    rejectUnknownOptions(`${label}: ${n.at(key)}`, nested as object, DELIVERY_OPTION_NAMES[key]);
  }
}

/**
 * Resolves and checks the options; throws an AuditConfigError naming the first bad option as `place`
 * names it (default: `createDeliveryEmitter`'s own, "delivery emitter: maxQueueEvents"). @internal
 */
export function resolveDeliveryOptions(
  options: DeliveryEmitterOptions,
  place: DeliveryOptionsPlace = DIRECT_PLACE,
): ResolvedDeliveryOptions {
  const n = naming(place);
  if (typeof options !== "object" || options === null) n.fail("options must be an object with a `sink`");
  const { sink } = options;
  if (typeof sink !== "object" || sink === null || typeof sink.write !== "function") {
    n.fail("`sink` must be an EventSink (an object with a write(batch) method)");
  }
  rejectUnknown(n, options);
  const d = DELIVERY_DEFAULTS;
  const num = (key: NumericOption, kind: "count" | "ms") =>
    check(n, orDefault(options[key], d[key]), key, kind, TIMER_MIN.get(key));
  const maxQueueEvents = num("maxQueueEvents", "count");
  const maxQueueBytes = num("maxQueueBytes", "count");
  const maxBatchEvents = num("maxBatchEvents", "count");
  const maxBatchBytes = num("maxBatchBytes", "count");
  const warnings: string[] = [];
  // A batch can never be larger than the queue it is taken from: usable, but say so and clamp (a
  // default batch size above a small queue is clamped silently).
  if (options.maxBatchEvents !== undefined && maxBatchEvents > maxQueueEvents) {
    warnings.push(
      `${place.label}: ${n.at("maxBatchEvents")} ${maxBatchEvents} exceeds ${n.at("maxQueueEvents")}; using ${maxQueueEvents}`,
    );
  }
  if (options.maxBatchBytes !== undefined && maxBatchBytes > maxQueueBytes) {
    warnings.push(
      `${place.label}: ${n.at("maxBatchBytes")} ${maxBatchBytes} exceeds ${n.at("maxQueueBytes")}; using ${maxQueueBytes}`,
    );
  }
  const limits = [maxBatchBytes, maxQueueBytes];
  if (options.maxEventBytes !== undefined) {
    const maxEventBytes = check(n, options.maxEventBytes, "maxEventBytes", "count");
    // Below it every real event would be dropped as too large: a unit mistake, not a limit.
    if (maxEventBytes < MIN_EVENT_BYTES)
      n.fail(`${n.at("maxEventBytes")} must be at least ${MIN_EVENT_BYTES} (1 KiB), got ${maxEventBytes}`);
    limits.push(maxEventBytes);
  }
  if (sink.maxEventBytes !== undefined)
    limits.push(check(n, sink.maxEventBytes, "sink.maxEventBytes", "count"));
  const name = orDefault(options.name, sink.name);
  if (typeof name !== "string" || name === "")
    n.fail(`${n.at("name")} (or the sink's name) must be a non-empty string`);
  const spool = resolveSpool(n, options.spool);
  // An event larger than the whole spool could never be spooled, and would block write-ahead mode.
  if (spool !== undefined) limits.push(spool.maxBytes);
  const fn = <F>(value: F | undefined, path: string) => checkFunction(n, value, path);
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
    retry: resolveRetry(n, options.retry),
    policies: resolvePolicies(n, options.overflow, spool !== undefined),
    park: Object.freeze({
      timeoutMs: check(n, orDefault(options.park?.timeoutMs, d.park.timeoutMs), "park.timeoutMs", "ms", 0),
      maxParked: check(n, orDefault(options.park?.maxParked, d.park.maxParked), "park.maxParked", "count"),
    }),
    spool,
    flushTimeoutMs: num("flushTimeoutMs", "ms"),
    closeTimeoutMs: num("closeTimeoutMs", "ms"),
    warnIntervalMs: num("warnIntervalMs", "ms"),
    onError: fn(options.onError, "onError"),
    onSinkRecovered: fn(options.onSinkRecovered, "onSinkRecovered"),
    sleep: fn(options.sleep, "sleep") ?? sleepUnref,
    random: fn(options.random, "random") ?? Math.random,
    warnings,
    place,
  });
}

function checkFunction<F>(n: Naming, value: F | undefined, path: string): F | undefined {
  if (value !== undefined && typeof value !== "function") n.fail(`${n.at(path)} must be a function`);
  return value;
}

function resolveRetry(n: Naming, retry: RetryOptions | undefined): RetryPolicy {
  const d = DELIVERY_DEFAULTS.retry;
  const initialDelayMs = check(
    n,
    orDefault(retry?.initialDelayMs, d.initialDelayMs),
    "retry.initialDelayMs",
    "ms",
    0,
  );
  const maxDelayMs = check(n, orDefault(retry?.maxDelayMs, d.maxDelayMs), "retry.maxDelayMs", "ms", 0);
  if (maxDelayMs < initialDelayMs)
    n.fail(`${n.at("retry.maxDelayMs")} must not be below ${n.at("retry.initialDelayMs")}`);
  const jitter = orDefault(retry?.jitter, d.jitter);
  if (jitter !== "full" && jitter !== "decorrelated") {
    n.fail(`${n.at("retry.jitter")} must be "full" or "decorrelated", got ${String(jitter)}`);
  }
  return Object.freeze({
    initialDelayMs,
    maxDelayMs,
    multiplier: check(n, orDefault(retry?.multiplier, d.multiplier), "retry.multiplier", "factor"),
    jitter,
  });
}

function resolvePolicies(
  n: Naming,
  overflow: OverflowPolicy | OverflowPolicyMap | undefined,
  hasSpool: boolean,
): readonly OverflowPolicy[] {
  const map: OverflowPolicyMap =
    typeof overflow === "object" && overflow !== null
      ? overflow
      : { default: orDefault(overflow, DELIVERY_DEFAULTS.overflow) };
  for (const [key, policy] of Object.entries(map)) {
    const path = n.at(typeof overflow === "object" ? `overflow.${key}` : "overflow");
    if (key !== "default" && !isEventKind(key)) {
      n.fail(`${path}: unknown event kind; known kinds: ${EVENT_KINDS.join(", ")}, default`);
    }
    if ((policy as string) === "block") n.fail(`${path} is "block", which is now called "park"; ${PARK_IS}`);
    if (!OVERFLOW_POLICIES.includes(policy)) {
      n.fail(`${path} must be one of ${OVERFLOW_POLICIES.join(", ")}, got ${String(policy)}`);
    }
    if (policy === "spool" && !hasSpool)
      n.fail(`${path} is "spool" but no \`${n.at("spool")}\` is configured`);
  }
  const fallback = orDefault(map.default, DELIVERY_DEFAULTS.overflow);
  return Object.freeze(
    KIND_NAMES.map((kind) => (kind === "unspecified" ? fallback : (map[kind] ?? fallback))),
  );
}

function resolveSpool(n: Naming, spool: SpoolOptions | undefined): ResolvedSpoolOptions | undefined {
  if (spool === undefined) return undefined;
  if (typeof spool !== "object" || spool === null)
    n.fail(`${n.at("spool")} must be an object with a \`path\``);
  // Blank is a mistake, not a file name: SQLite would create a file named " " in the working directory.
  if (typeof spool.path !== "string" || spool.path.trim() === "")
    n.fail(`${n.at("spool.path")} must be a file path, got ${shown(spool.path)}`);
  const d = DELIVERY_DEFAULTS.spool;
  const attempts = orDefault(spool.spoolAfterAttempts, d.spoolAfterAttempts);
  if (attempts !== Number.POSITIVE_INFINITY) check(n, attempts, "spool.spoolAfterAttempts", "count");
  const synchronous = orDefault(spool.synchronous, d.synchronous);
  if (synchronous !== "full" && synchronous !== "normal") {
    n.fail(`${n.at("spool.synchronous")} must be "full" or "normal", got ${String(synchronous)}`);
  }
  if (spool.writeAhead !== undefined && typeof spool.writeAhead !== "boolean") {
    n.fail(`${n.at("spool.writeAhead")} must be a boolean`);
  }
  return Object.freeze({
    path: spool.path,
    maxBytes: check(n, orDefault(spool.maxBytes, d.maxBytes), "spool.maxBytes", "count"),
    // At least 1: the group commit runs on an interval timer, and 0 would make it a busy 1 ms loop.
    commitIntervalMs: check(
      n,
      orDefault(spool.commitIntervalMs, d.commitIntervalMs),
      "spool.commitIntervalMs",
      "count",
      1,
    ),
    writeAhead: orDefault(spool.writeAhead, d.writeAhead),
    maxUncommittedEvents: check(
      n,
      orDefault(spool.maxUncommittedEvents, d.maxUncommittedEvents),
      "spool.maxUncommittedEvents",
      "count",
    ),
    spoolAfterMs: check(n, orDefault(spool.spoolAfterMs, d.spoolAfterMs), "spool.spoolAfterMs", "ms"),
    spoolAfterAttempts: attempts,
    synchronous,
  });
}

/** Waits without keeping the process alive. */
function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
