import { performance } from "node:perf_hooks";
import type { AuthnObserver, AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput, AuthzObserver } from "../authz/observer.js";
import { type ChainOptions, resolveChainOptions } from "../chain/chain-options.js";
import { EventChain } from "../chain/event-chain.js";
import { currentAuditScope } from "../context/scope.js";
import { createEmitter, type EmitterSpec } from "../emitters/create-emitter.js";
import type { EmitOutcome, Emitter, EmitterStats, FlushReport } from "../emitters/emitter.js";
import { report } from "../emitters/emitter.js";
import { createMultiEmitter } from "../emitters/multi-emitter.js";
import { AuditConfigError, AuditEmitError, AuditError, AuditInputError, toError } from "../errors/index.js";
import type { AuthzOutcome } from "../event/builders.js";
import { newEventId } from "../event/ids.js";
import { EVENT_KIND, type EventKind } from "../event/kinds.js";
import type { RecordContext } from "../event/record-context.js";
import { isEventTime } from "../event/time.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { eventAttributes } from "./attributes.js";
import { buildEvent, type EventInputs, type EventStamp, type RecordedKind } from "./build-event.js";
import {
  checkAccessInput,
  checkAuthnInput,
  checkAuthzInput,
  checkMutationInput,
  checkTupleInput,
  type ResourceAccessInput,
  type ResourceMutationInput,
  type TupleChangeInput,
} from "./inputs.js";
import { OutcomeCounts } from "./outcome-counts.js";
import { createRecordGate, type RecordPolicy } from "./record-policy.js";
import { createRecordSummaries, resolveSummaryEveryMs } from "./record-summary.js";
import type { SkippedStats } from "./skip-counts.js";
import { rewriteStatusMessage, type StatusMessagePolicy, textRewrites } from "./status-message.js";
import { safeTraceReader, type TraceIds } from "./trace-ids.js";

/** Options of `createRecorder`. */
export interface RecorderOptions {
  /** Service name put on every event. Required, non-empty. */
  service: string;
  /**
   * Where events go: emitters, or specs such as `{ kind: "log", logger }`. Required, at least one (use
   * `{ kind: "noop" }` to discard on purpose). Several are fanned out through a multi emitter.
   */
  emitters: readonly (Emitter | EmitterSpec)[];
  /** Called once per failure (bad record input, sink failure). Default: ignore; failures are still counted. */
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
   * skips. 0 writes none (the counts stay in `stats().skipped` only). Default: 60000 (1 minute).
   */
  summaryEveryMs?: number;
}

/** What happened to a recorded event: handed to the emitters, dropped by them, or lost (see stats). */
export type RecordOutcome = EmitOutcome;

/**
 * Counters of a Recorder. Every record call, and every chain checkpoint and record summary the Recorder
 * writes, is in exactly one of accepted, dropped, failed, invalid or skipped.
 */
export interface RecorderStats {
  /** Events built, by kind. */
  recorded: Record<EventKind, number>;
  /** Events the emitters took for delivery (outcome "accepted"). */
  accepted: number;
  /** Events the emitters dropped on purpose, such as after `close()` (reasons in `emitter.dropped`). */
  dropped: number;
  /**
   * Events lost: the Recorder could not build or chain them (its clock, id generator or a redaction
   * pattern failed), or an emitter refused them because its sink failed.
   */
  failed: number;
  /** Record calls refused because their input could not become an event. */
  invalid: number;
  /** Failures reported with `reportError` (such as a rule's target-id extractor throwing). */
  errors: number;
  /**
   * Attribute entries left out of events: beyond 16 per event, with a key that is not 1 to 64 visible
   * ASCII characters, or with a value that is not a string. The first one is reported to `onError`.
   */
  attributesDropped: number;
  /** Authentication attempts recorded, by outcome: "success", or the failure code ("expired", ...). */
  authn: Record<string, number>;
  /** Authorization decisions recorded, by outcome ("allowed", "denied", "no_rule", "error"). */
  authz: Record<AuthzOutcome, number>;
  /** Successes counted instead of recorded under the `record` policy; all 0 under the default. */
  skipped: SkippedStats;
  /** The emitter's own counters. */
  emitter: EmitterStats;
}

/**
 * Checks record input, builds audit events (`buildEvent`), counts them and hands them to emitters.
 * Record methods never throw and never wait: they return what the emitters did with the event. Inside
 * an RPC they fill operation, actor, trace and request ids, peer and duration from the audit scope;
 * outside one, pass them in the input.
 */
export interface Recorder {
  /** The service name put on every event (the `service` option). */
  readonly service: string;
  /**
   * Records one authentication attempt as an `authn.result` event. A refused attempt's actor is
   * anonymous unless the input names one, and its result code defaults to "UNAUTHENTICATED". Returns
   * what the emitters did with the event; an accepted credential skipped by the `record` policy is
   * counted in `stats().skipped` and returns "accepted". Never throws: input that cannot become an
   * event is counted in `stats().invalid`, reported to `onError` as an AuditInputError, and returns
   * "failed".
   */
  recordAuthnResult(input: AuthnResultInput): RecordOutcome;
  /**
   * Records one authorization decision as an `authz.decision` event. Unless the input gives them, its
   * target is the checked object and its result succeeds only for "allowed". Returns what the emitters
   * did with the event; an "allowed" skipped by the `record` policy is counted in `stats().skipped` and
   * returns "accepted". Never throws: bad input is counted in `stats().invalid`, reported to `onError`,
   * and returns "failed".
   */
  recordAuthzDecision(input: AuthzDecisionInput): RecordOutcome;
  /**
   * Records the relationship tuples one call wrote or deleted as one `tuple.change` event; unless the
   * input gives one, its result succeeds only when every tuple did. Returns what the emitters did with
   * the event. Never throws: bad input is counted in `stats().invalid`, reported to `onError`, and
   * returns "failed".
   */
  recordTupleChange(input: TupleChangeInput): RecordOutcome;
  /**
   * Records a change to one resource as a `resource.mutation` event, such as a rule with
   * `EVENT_TYPE_RESOURCE_MUTATION` makes; its result defaults to a success. Returns what the emitters
   * did with the event. Never throws: bad input is counted in `stats().invalid`, reported to
   * `onError`, and returns "failed".
   */
  recordResourceMutation(input: ResourceMutationInput): RecordOutcome;
  /** Records a read of a resource (`resource.access`), such as a rule with `EVENT_TYPE_RESOURCE_ACCESS` makes. */
  recordResourceAccess(input: ResourceAccessInput): RecordOutcome;
  /**
   * Counts a failure found outside the record calls (such as a rule's target-id extractor throwing)
   * and passes it to `onError`. Never throws.
   */
  reportError(error: Error): void;
  /** An observer for the authn layer: passes each report to `recordAuthnResult` as it stands. */
  authnObserver(): AuthnObserver;
  /** An observer for the authz layer: passes each report to `recordAuthzDecision` as it stands. */
  authzObserver(): AuthzObserver;
  /** A snapshot of the Recorder's counters, with its emitters' (a copy: later events do not change it). */
  stats(): RecorderStats;
  /** Resolves once every accepted event has been written by every emitter. */
  flush(): Promise<FlushReport>;
  /** Flushes, then closes the emitters; later record calls are dropped and counted. */
  close(): Promise<FlushReport>;
}

/**
 * Creates a Recorder. Validates the options and throws an AuditConfigError naming the bad option.
 *
 * ```ts
 * const recorder = createRecorder({ service: "projects", emitters: [{ kind: "log", logger: pino() }] });
 * recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
 * await recorder.close();
 * ```
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const config = resolveOptions(options);
  const { service, emitter, onError, now, monotonicNowMs, newId, rewrites, chain, readTrace, gate } = config;
  const outcomes = new OutcomeCounts();
  const counts = { accepted: 0, dropped: 0, failed: 0, invalid: 0, errors: 0, attributesDropped: 0 };
  const recorded: Record<EventKind, number> = {
    [EVENT_KIND.AUTHN_RESULT]: 0,
    [EVENT_KIND.AUTHZ_DECISION]: 0,
    [EVENT_KIND.TUPLE_CHANGE]: 0,
    [EVENT_KIND.RESOURCE_MUTATION]: 0,
    [EVENT_KIND.RESOURCE_ACCESS]: 0,
    [EVENT_KIND.CHAIN_CHECKPOINT]: 0,
    [EVENT_KIND.RECORD_SUMMARY]: 0,
  };

  function refuse(method: string, problem: string): "failed" {
    counts.invalid++;
    report(onError, new AuditInputError(`${method}: ${problem}`));
    return "failed";
  }

  /**
   * What the Recorder adds to an input: the scope, an id, and its clocks read only when the input
   * gives no time or duration. Throws when the Recorder's own clock or id generator fails.
   */
  function stamp(input: RecordContext): EventStamp {
    const scope = currentAuditScope();
    const durationMs =
      input.durationMs ?? (scope === undefined ? undefined : monotonicNowMs() - scope.startedAtMs);
    const eventId = newId();
    if (typeof eventId !== "string") throw new TypeError("newEventId() did not return a string");
    const occurredAt = input.occurredAt ?? now();
    const trace = readTrace();
    // Most events have no attributes: then nothing to merge, and buildEvent gives them an empty map.
    if (input.attributes === undefined && scope?.attributes === undefined) {
      return { service, eventId, occurredAt, durationMs, scope, trace, attributes: undefined };
    }
    const { attributes, dropped } = eventAttributes(input.attributes, scope?.attributes, rewrites.redact);
    if (dropped > 0) dropAttributes(dropped);
    return { service, eventId, occurredAt, durationMs, scope, trace, attributes };
  }

  /** Counts attribute entries left out; reports the first time only, as they tend to repeat per call. */
  function dropAttributes(dropped: number): void {
    if (counts.attributesDropped === 0) {
      report(
        onError,
        new AuditInputError(
          "attributes: entries beyond 16 per event, with a key that is not 1 to 64 visible ASCII characters, or with a value that is not a string were left out (counted in stats().attributesDropped; reported once)",
        ),
      );
    }
    counts.attributesDropped += dropped;
  }

  /** Builds the event of a checked input, counts it and hands it to the emitter. Never throws. */
  function emit<K extends RecordedKind>(kind: K, input: EventInputs[K]): RecordOutcome {
    let event: AuditEvent;
    try {
      rewriteStatusMessage(input, rewrites);
      event = buildEvent(kind, input, stamp(input));
    } catch (error) {
      // The input was checked: only the Recorder's own now, monotonicNowMs, newEventId or a redaction
      // pattern (a regular expression too complex to run) can fail here.
      counts.failed++;
      report(onError, new AuditError("recorder: the event could not be built", { cause: toError(error) }));
      return "failed";
    }
    return handOver(kind, event);
  }

  /**
   * Links the event into the chain, then hands it to the emitter and counts it; then writes a
   * checkpoint when one is due. Only events handed over take a seq: a gap in the chain is an event
   * an emitter dropped (counted in its stats) or one lost after it.
   */
  function handOver(kind: EventKind, event: AuditEvent): RecordOutcome {
    try {
      chain?.link(event);
    } catch (error) {
      counts.failed++;
      report(onError, new AuditError("recorder: the event could not be chained", { cause: toError(error) }));
      return "failed";
    }
    recorded[kind]++;
    let outcome: RecordOutcome;
    try {
      outcome = emitter.emit(event);
    } catch (error) {
      // Emitters promise never to throw; if one does, the RPC still must not see it.
      report(onError, new AuditEmitError(emitter.name, "emit threw", { cause: toError(error) }));
      outcome = "failed";
    }
    counts[outcome]++;
    if (chain?.checkpointDue === true) writeCheckpoint(false);
    return outcome;
  }

  /** Writes a signed checkpoint over the chain's head (when it signs); counted like any event. Never throws. */
  function writeCheckpoint(final: boolean): void {
    if (chain === undefined || !chain.signs) return;
    let event: AuditEvent;
    try {
      event = chain.checkpoint({ service, eventId: newId(), occurredAt: now() }, final);
    } catch (error) {
      counts.failed++;
      report(
        onError,
        new AuditError("recorder: the chain checkpoint could not be built", { cause: toError(error) }),
      );
      return;
    }
    handOver(EVENT_KIND.CHAIN_CHECKPOINT, event);
  }

  // Checkpoints also come with time, so a quiet service's last events do not wait for the next 1000.
  const checkpointTimer =
    chain?.signs === true
      ? setInterval(() => {
          if (chain.unsealed > 0) writeCheckpoint(false);
        }, config.checkpointIntervalMs).unref()
      : undefined;

  // What the record policy skipped reaches the trail as summaries, window by window.
  const summaries =
    gate.skipsSome && config.summaryEveryMs > 0
      ? createRecordSummaries({ service, gate, now, newId })
      : undefined;

  /** Writes the summaries of the skips since the previous one, if any. Never throws. */
  function writeSummaries(): void {
    if (summaries === undefined) return;
    let events: AuditEvent[];
    try {
      events = summaries.take();
    } catch (error) {
      counts.failed++;
      report(
        onError,
        new AuditError("recorder: the record summary could not be built", { cause: toError(error) }),
      );
      return;
    }
    for (const event of events) handOver(EVENT_KIND.RECORD_SUMMARY, event);
  }

  const summaryTimer =
    summaries === undefined ? undefined : setInterval(writeSummaries, config.summaryEveryMs).unref();

  const recorder: Recorder = {
    service,
    recordAuthnResult(raw) {
      const input = checkAuthnInput(raw);
      if (typeof input === "string") return refuse("recordAuthnResult", input);
      // Outcomes count every attempt, recorded or skipped; a success the policy skips is counted before
      // any event work: no id, no event, no chain link.
      outcomes.countAuthn(input);
      if (gate.skipsAuthn(input)) return "accepted";
      return emit(EVENT_KIND.AUTHN_RESULT, input);
    },
    recordAuthzDecision(raw) {
      const input = checkAuthzInput(raw);
      if (typeof input === "string") return refuse("recordAuthzDecision", input);
      outcomes.countAuthz(input);
      if (gate.skipsAuthz(input)) return "accepted";
      return emit(EVENT_KIND.AUTHZ_DECISION, input);
    },
    recordTupleChange(raw) {
      const input = checkTupleInput(raw);
      if (typeof input === "string") return refuse("recordTupleChange", input);
      return emit(EVENT_KIND.TUPLE_CHANGE, input);
    },
    recordResourceMutation(raw) {
      const input = checkMutationInput(raw);
      if (typeof input === "string") return refuse("recordResourceMutation", input);
      return emit(EVENT_KIND.RESOURCE_MUTATION, input);
    },
    recordResourceAccess(raw) {
      const input = checkAccessInput(raw);
      if (typeof input === "string") return refuse("recordResourceAccess", input);
      if (gate.skipsAccess(input)) return "accepted";
      return emit(EVENT_KIND.RESOURCE_ACCESS, input);
    },
    reportError(error) {
      counts.errors++;
      report(onError, error);
    },
    // The authn and authz layers report in the record methods' input shape: nothing to map.
    authnObserver: () => (input) => {
      recorder.recordAuthnResult(input);
    },
    authzObserver: () => (input) => {
      recorder.recordAuthzDecision(input);
    },
    stats: () => ({
      recorded: { ...recorded },
      ...counts,
      ...outcomes.snapshot(),
      skipped: gate.stats(),
      emitter: emitter.stats(),
    }),
    flush: () => emitter.flush(),
    close: () => {
      // The last summary, then the final checkpoint go out before the emitters close: nothing follows
      // the checkpoint in the chain.
      clearInterval(summaryTimer);
      writeSummaries();
      clearInterval(checkpointTimer);
      writeCheckpoint(true);
      return emitter.close();
    },
  };
  return recorder;
}

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

function resolveOptions(options: RecorderOptions) {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("createRecorder: options must be an object with `service` and `emitters`");
  }
  const { service, emitters, onError, now, monotonicNowMs, newEventId: newId, traceContext } = options;
  if (typeof service !== "string" || service.trim() === "") {
    throw new AuditConfigError("createRecorder: `service` must be a non-empty string");
  }
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
  const built = emitters.map((spec, i) => createEmitter(spec, `createRecorder: emitters[${i}]`));
  const [first] = built;
  const emitter =
    built.length === 1 && first !== undefined
      ? first
      : createMultiEmitter(built, onError === undefined ? {} : { onError });
  return {
    service,
    emitter,
    onError,
    now: now === undefined ? () => new Date() : checkedClock(now),
    monotonicNowMs: monotonicNowMs ?? (() => performance.now()),
    newId: newId ?? newEventId,
    rewrites,
    chain: chainOptions === undefined ? undefined : new EventChain(chainOptions),
    checkpointIntervalMs: chainOptions?.checkpointIntervalMs ?? 0,
    readTrace: safeTraceReader(traceContext, onError),
    gate,
    summaryEveryMs: resolveSummaryEveryMs(options.summaryEveryMs, "createRecorder"),
  };
}
