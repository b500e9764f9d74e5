import { performance } from "node:perf_hooks";
import { type ChainOptions, resolveChainOptions } from "../chain/chain-options.js";
import { EventChain } from "../chain/event-chain.js";
import { createEmitter, type EmitterSpec } from "../emitters/create-emitter.js";
import type { Emitter } from "../emitters/emitter.js";
import { createMultiEmitter } from "../emitters/multi-emitter.js";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs, shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { newEventId } from "../event/ids.js";
import { isEventTime } from "../event/time.js";
import { createRecordGate, type RecordPolicy } from "./record-policy.js";
import { resolveSummaryEveryMs } from "./record-summary.js";
import { type StatusMessagePolicy, textRewrites } from "./status-message.js";
import { safeTraceReader, type TraceIds } from "./trace-ids.js";

/** Options of `createRecorder`. */
export interface RecorderOptions {
  /** Service name put on every event. Required, non-empty. */
  service: string;
  /**
   * Which process of the service this is, such as a host or pod name (`process.env.HOSTNAME ??
   * os.hostname()`), put on every event as `instance`: with several servers of one service, it says
   * whose chain `grpc-audit verify` reports on. Up to 128 UTF-8 bytes, not blank, no control
   * characters. Default: none (events have no `instance`).
   */
  instance?: string;
  /**
   * Where events go: emitters, or specs such as `{ kind: "log", logger }`. Required, at least one (use
   * `{ kind: "noop" }` to discard on purpose). Several are fanned out through a multi emitter.
   */
  emitters: readonly (Emitter | EmitterSpec)[];
  /**
   * Called once per failure: a record input refused, an event that could not be built, and the
   * failures of the emitters built here from specs (`{ kind: "log", … }`) that have no `onError` of
   * their own. An Emitter object passed in (such as `createBrokerEmitter`'s or `createDeliveryEmitter`'s)
   * reports its sink and delivery failures only to the `onError` given to its own factory: this one
   * hears of it only an `emit` that threw and, with several emitters, a flush or close that failed or
   * timed out. Default: ignore; failures are still counted.
   */
  onError?: (error: Error) => void;
  /**
   * Clock for `occurredAt`. Default: `() => new Date()`. When it throws or returns anything but a Date
   * from 0001-01-01 to 9999-12-31, the event fails (counted as failed, reported to `onError`).
   */
  now?: () => Date;
  /** Monotonic clock in ms for durations; must match the scopes' `startedAtMs`. Default: `performance.now`. */
  monotonicNowMs?: () => number;
  /** Makes event ids. Default: UUIDv7. */
  newEventId?: () => string;
  /**
   * What events keep of a result's status message (a handler's error text may echo a secret):
   * "omit" keeps nothing (""); "truncate" its first 256 UTF-8 bytes; "record" up to 1024. An audit
   * rule's `statusMessage`, or a record call's own `statusMessages`, overrides it for its events.
   * Default: "truncate".
   */
  statusMessages?: StatusMessagePolicy;
  /**
   * Patterns redacted from status messages and attribute values before they are kept (and cut): each
   * match becomes "[redacted]", every match whether or not the pattern has the `g` flag. Default: none.
   */
  redactPatterns?: readonly RegExp[];
  /**
   * The tamper-evident chain (docs/evidence.md): every event gets `chain` (this Recorder's chain id,
   * seq, the previous event's hash and its own), so an edited, deleted or reordered event shows in
   * `grpc-audit verify`. With `signingKey` and `keyId` the Recorder also writes signed checkpoints.
   * `false` leaves `chain` unset (for events that are re-ordered or thinned on purpose, such as
   * sampled debug trails, where every gap would be reported). Default: true, without checkpoints.
   */
  chain?: boolean | ChainOptions;
  /**
   * Reads the trace and span id of the span active where an event is recorded, such as
   * `otelTraceContext()` from `grpc-audit/otel`. Events take them over the ids of the call's
   * `traceparent` header (a record input's own `traceId` / `spanId` still win). Returning undefined,
   * invalid ids, or throwing (reported once to `onError`) falls back to `traceparent`. Default: none
   * (ids come from `traceparent` only).
   */
  traceContext?: () => TraceIds | undefined;
  /**
   * Which events to record per kind: "all", or "failures" to count a kind's successes per (kind, actor,
   * method) in `stats().skipped` instead of recording them (`RecordPolicy` says what a success is;
   * mutations and tuple changes are always recorded). A skipped success returns "accepted". Default:
   * "all" for every kind.
   */
  record?: RecordPolicy;
  /**
   * Most (kind, actor, method) keys `stats().skipped.counts` holds; skips of further keys are counted
   * in `skipped.overflow`. A key takes at most about 1.5 KB of heap (15 MB at the default), about
   * 0.25 KB for a short actor id and method. Default: 10000.
   */
  maxSkippedKeys?: number;
  /**
   * When the `record` policy skips some kind: how often the Recorder writes a `record.summary` event
   * of the successes skipped since its previous summary, per (kind, actor, method), cut into events of
   * at most 500 counts; also one on `close()`, before the final checkpoint. None for a window with no
   * skips. 0 writes none (the counts stay in `stats().skipped` only); else a whole number of
   * milliseconds, 1 to 2^31 - 1 (the longest Node timer). Default: 60000 (1 minute).
   */
  summaryEveryMs?: number;
  /**
   * How long `close()` waits for the records of calls still in flight (a call running, a handler grpc-js
   * let run on after a cancel, an authenticator or authz check still answering) before the last summary,
   * the final checkpoint and the emitters' close; records arriving later are dropped and counted. A call
   * still running normally (the server was not shut down first) is waited for too, up to this bound. No
   * wait at all when nothing is in flight. 0 does not wait; else a whole number of milliseconds, 1 to
   * 2^31 - 1 (the longest Node timer). Default: 10000 (the interceptors' default `handlerSettleTimeoutMs`).
   */
  closeWaitMs?: number;
}

/**
 * The option names of `RecorderOptions` (the record type makes a missing or extra name a compile
 * error); `chain` and `record` check their own.
 * @internal
 */
export const RECORDER_OPTION_NAMES = Object.keys({
  service: 1,
  instance: 1,
  emitters: 1,
  onError: 1,
  now: 1,
  monotonicNowMs: 1,
  newEventId: 1,
  statusMessages: 1,
  redactPatterns: 1,
  chain: 1,
  traceContext: 1,
  record: 1,
  maxSkippedKeys: 1,
  summaryEveryMs: 1,
  closeWaitMs: 1,
} satisfies Record<keyof RecorderOptions, 1>);

/**
 * Most UTF-8 bytes of `instance`: room for any host name (64 bytes on Linux, a pod's HOSTNAME 63), and
 * within the limit of an event's text fields, so that events need not cut it.
 */
const MAX_INSTANCE_BYTES = 128;

/** Default of `closeWaitMs`: the interceptors' default `handlerSettleTimeoutMs`. @internal */
export const DEFAULT_CLOSE_WAIT_MS = 10_000;

const getTime = Date.prototype.getTime;

/** `now`, made to throw when it gives no Date from 0001 to 9999 (the event then fails, counted). */
function checkedClock(now: () => Date): () => Date {
  return () => {
    const date: unknown = now();
    const ms = date instanceof Date ? getTime.call(date) : Number.NaN;
    if (!isEventTime(ms)) throw new TypeError("now() did not return a valid Date from 0001 to 9999");
    return new Date(ms);
  };
}

/**
 * `newEventId`, made to throw when it gives no string or an empty one (the event then fails, counted):
 * an empty id names no event, a store or broker could not tell it from another.
 */
function checkedEventIds(newId: () => string): () => string {
  return () => {
    const eventId: unknown = newId();
    if (typeof eventId !== "string" || eventId === "") {
      throw new TypeError("newEventId() did not return a non-empty string");
    }
    return eventId;
  };
}

/**
 * `instance` checked, "" when not set: a name shown in `grpc-audit verify`'s lines and the viewer,
 * so no control characters (a newline would forge a line) and no lone surrogates (they would not
 * survive encoding as written).
 */
function checkInstance(instance: unknown): string {
  if (instance === undefined) return "";
  if (
    typeof instance !== "string" ||
    instance.trim() === "" ||
    Buffer.byteLength(instance) > MAX_INSTANCE_BYTES ||
    /\p{Cc}/u.test(instance) ||
    !instance.isWellFormed()
  ) {
    throw new AuditConfigError(
      `createRecorder: \`instance\` must be a non-blank string of up to ${MAX_INSTANCE_BYTES} UTF-8 bytes without control characters, such as a host or pod name, got ${shown(instance)}`,
    );
  }
  return instance;
}

/**
 * Checks the options of `createRecorder` and builds what they name (emitters, chain, record gate);
 * throws an AuditConfigError naming the option.
 * @internal
 */
export function resolveRecorderOptions(options: RecorderOptions) {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("createRecorder: options must be an object with `service` and `emitters`");
  }
  rejectUnknownOptions("createRecorder", options, RECORDER_OPTION_NAMES);
  const { service, emitters, onError, now, monotonicNowMs, newEventId: newId, traceContext } = options;
  if (typeof service !== "string" || service.trim() === "") {
    throw new AuditConfigError("createRecorder: `service` must be a non-empty string");
  }
  const instance = checkInstance(options.instance);
  if (!Array.isArray(emitters) || emitters.length === 0) {
    throw new AuditConfigError(
      'createRecorder: `emitters` must list at least one emitter (use { kind: "noop" } to discard events on purpose)',
    );
  }
  for (const [name, value] of Object.entries({
    onError,
    now,
    monotonicNowMs,
    newEventId: newId,
    traceContext,
  })) {
    if (value !== undefined && typeof value !== "function") {
      throw new AuditConfigError(`createRecorder: \`${name}\` must be a function`);
    }
  }
  const rewrites = textRewrites(options.statusMessages, options.redactPatterns);
  const chainOptions = resolveChainOptions(options.chain, "createRecorder");
  const gate = createRecordGate(options.record, options.maxSkippedKeys, "createRecorder");
  // A spec-built emitter without an onError of its own reports to the Recorder's.
  const built = emitters.map((spec, i) => createEmitter(spec, `createRecorder: emitters[${i}]`, onError));
  const [first] = built;
  const emitter =
    built.length === 1 && first !== undefined
      ? first
      : createMultiEmitter(built, onError === undefined ? {} : { onError });
  return {
    service,
    instance,
    emitter,
    onError,
    now: now === undefined ? () => new Date() : checkedClock(now),
    monotonicNowMs: monotonicNowMs ?? (() => performance.now()),
    newId: newId === undefined ? newEventId : checkedEventIds(newId),
    rewrites,
    chain: chainOptions === undefined ? undefined : new EventChain(chainOptions),
    checkpointIntervalMs: chainOptions?.checkpointIntervalMs ?? 0,
    readTrace: safeTraceReader(traceContext, onError),
    gate,
    summaryEveryMs: resolveSummaryEveryMs(options.summaryEveryMs, "createRecorder"),
    closeWaitMs: checkTimerMs("createRecorder: `closeWaitMs`", options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS, {
      min: 0,
    }),
  };
}
