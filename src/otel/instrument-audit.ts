import {
  type Attributes,
  type BatchObservableResult,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
} from "@opentelemetry/api";
import type { DeliveryStats } from "../delivery/delivery-stats.js";
import type { EmitterStats } from "../emitters/emitter.js";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { Recorder, RecorderStats } from "../recorder/recorder.js";
import { AUDIT_METRIC_ATTRIBUTES as ATTR, AUDIT_METRICS } from "./metric-names.js";

/** Options of `instrumentAudit`. */
export interface AuditInstrumentationOptions {
  /** The Recorder whose `stats()` (and its emitters', delivery emitters included) the metrics report. */
  recorder: Pick<Recorder, "stats">;
  /**
   * Where the instruments are created (meter "grpc-audit"). Default: the global
   * `metrics.getMeterProvider()` as it is when `instrumentAudit` is called (the API has no proxy for
   * metrics: before your SDK registered its MeterProvider, that is a no-op one for good).
   */
  meterProvider?: MeterProvider;
}

/** The metrics reported by `instrumentAudit`; `close()` stops reading the Recorder. */
export interface AuditInstrumentation {
  /**
   * Removes the callbacks: later collections no longer read the Recorder (the SDK keeps exporting
   * the last values read until its MeterProvider shuts down). Calling it again does nothing.
   */
  close(): void;
}

/** The meter name (instrumentation scope) of the audit metrics. */
export const AUDIT_METER_NAME = "grpc-audit";

/** The metrics read from stats; the sink write histogram is `instrumentSink`'s. */
type ObservedKey = Exclude<keyof typeof AUDIT_METRICS, "sinkWriteDuration">;

/**
 * Reports a Recorder's counters as OpenTelemetry metrics, read from `recorder.stats()` once per
 * collection (observable instruments: no cost on the RPC path): what became of every event
 * (accepted, dropped, failed, refused, skipped), reported errors and attributes left out. Every
 * delivery emitter among the Recorder's emitters adds its delivered, spooled and retry counts, queue
 * and spool gauges, and its drops by reason and event type; a log emitter that gave up events it had
 * accepted (its destination failed) adds them to `grpc_audit.events.dropped_after_accept`. Names,
 * units and attributes: docs/opentelemetry.md. Sink write latency comes from `instrumentSink`.
 * Instrument one Recorder per MeterProvider: with two, every series shows the values of one of them
 * only (the one instrumented last, until it is closed), not their sum.
 *
 * Throws an AuditConfigError when `recorder` has no `stats()` or `meterProvider` no `getMeter()`.
 *
 * ```ts
 * import { instrumentAudit, otelTraceContext } from "grpc-audit/otel";
 * const recorder = createRecorder({ service: "projects", emitters: [emitter], traceContext: otelTraceContext() });
 * const instrumentation = instrumentAudit({ recorder });
 * ```
 */
export function instrumentAudit(options: AuditInstrumentationOptions): AuditInstrumentation {
  const { recorder, meterProvider } = checkOptions(options);
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(AUDIT_METER_NAME);
  const instruments = createInstruments(meter);
  const observables = Object.values(instruments);
  const callback = (result: BatchObservableResult) => {
    // The SDK catches a throwing callback too, but a Recorder's stats() is not expected to throw.
    // Emitters may share a name (two log emitters by default, two broker sinks `kafka:audit` on two
    // clusters): their counts go into one series as a sum. Observed one by one, the SDK would keep
    // only the last of the observations with the same attributes.
    const series = new Map<string, { key: ObservedKey; value: number; attributes?: Attributes }>();
    observe(recorder.stats(), (key, value, attributes) => {
      const id = seriesId(key, attributes);
      const seen = series.get(id);
      if (seen === undefined)
        series.set(id, { key, value, ...(attributes === undefined ? {} : { attributes }) });
      else seen.value += value;
    });
    for (const { key, value, attributes } of series.values())
      result.observe(instruments[key], value, attributes);
  };
  meter.addBatchObservableCallback(callback, observables);
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      meter.removeBatchObservableCallback(callback, observables);
    },
  };
}

/** The option names of `AuditInstrumentationOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({ recorder: 1, meterProvider: 1 } satisfies Record<
  keyof AuditInstrumentationOptions,
  1
>);

function checkOptions(options: AuditInstrumentationOptions): AuditInstrumentationOptions {
  if (typeof options === "object" && options !== null)
    rejectUnknownOptions("instrumentAudit", options, OPTION_NAMES);
  if (typeof options !== "object" || options === null || typeof options.recorder?.stats !== "function") {
    throw new AuditConfigError("instrumentAudit: `recorder` must be a Recorder (an object with stats())");
  }
  const { meterProvider } = options;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== "function") {
    throw new AuditConfigError("instrumentAudit: `meterProvider` must be an OpenTelemetry MeterProvider");
  }
  return options;
}

function createInstruments(meter: Meter): Record<ObservedKey, Observable> {
  const make = (key: ObservedKey): Observable => {
    const { name, unit, description, instrument } = AUDIT_METRICS[key];
    return instrument === "counter"
      ? meter.createObservableCounter(name, { unit, description })
      : meter.createObservableUpDownCounter(name, { unit, description });
  };
  return {
    recorded: make("recorded"),
    accepted: make("accepted"),
    failed: make("failed"),
    recorderDrops: make("recorderDrops"),
    refused: make("refused"),
    errors: make("errors"),
    attributesDropped: make("attributesDropped"),
    dropped: make("dropped"),
    authn: make("authn"),
    authz: make("authz"),
    skipped: make("skipped"),
    delivered: make("delivered"),
    droppedAfterAccept: make("droppedAfterAccept"),
    spooled: make("spooled"),
    retries: make("retries"),
    queueEvents: make("queueEvents"),
    queueBytes: make("queueBytes"),
    parkedEvents: make("parkedEvents"),
    spoolEvents: make("spoolEvents"),
    spoolBytes: make("spoolBytes"),
  };
}

type Observe = (key: ObservedKey, value: number, attributes?: Attributes) => void;

/** Turns one stats snapshot into observations. */
function observe(stats: RecorderStats, emit: Observe): void {
  for (const [type, count] of Object.entries(stats.recorded))
    emit("recorded", count, { [ATTR.eventType]: type });
  emit("accepted", stats.accepted);
  emit("failed", stats.failed);
  // The Recorder's own count: per-emitter drops overlap under a multi emitter and cannot be summed.
  emit("recorderDrops", stats.dropped);
  emit("refused", stats.invalid);
  emit("errors", stats.errors);
  emit("attributesDropped", stats.attributesDropped);
  for (const [result, count] of Object.entries(stats.authn)) {
    emit(
      "authn",
      count,
      result === "success"
        ? { [ATTR.authnOutcome]: "success" }
        : { [ATTR.authnOutcome]: "failure", [ATTR.authnFailureReason]: result },
    );
  }
  for (const [decision, count] of Object.entries(stats.authz))
    emit("authz", count, { [ATTR.authzDecision]: decision });
  for (const [type, count] of Object.entries(stats.skipped.byKind))
    emit("skipped", count, { [ATTR.eventType]: type });
  for (const node of emitterTree(stats.emitter)) observeEmitter(node, emit);
}

/**
 * The drop reasons under which an emitter other than a delivery emitter counts events `emit` had
 * accepted: a log emitter's lines given up when `close()` found its destination failed (see
 * EmitterStats). The memory, noop and multi emitters drop only at `emit`; delivery emitters (the
 * broker and store emitters too) count their later drops in `droppedAfterAccept`.
 */
const DROPPED_AFTER_ACCEPT_REASONS: ReadonlySet<string> = new Set(["destination_failed"]);

function observeEmitter(stats: EmitterStats, emit: Observe): void {
  const emitter = { [ATTR.emitterName]: stats.name };
  if (!isDeliveryStats(stats)) {
    let afterAccept: number | undefined;
    for (const [reason, count] of Object.entries(stats.dropped)) {
      // A multi emitter counts an event one of its sinks dropped; that sink counts it with its reason.
      if (reason === "sink_dropped" && stats.sinks !== undefined) continue;
      emit("dropped", count, { ...emitter, [ATTR.dropReason]: reason });
      if (DROPPED_AFTER_ACCEPT_REASONS.has(reason)) afterAccept = (afterAccept ?? 0) + count;
    }
    // Accepted, so in neither the Recorder's drops nor its failures: only this says they are missing.
    // Reported from the first such drop on: the stats do not tell a log emitter from a memory one.
    if (afterAccept !== undefined) emit("droppedAfterAccept", afterAccept, emitter);
    return;
  }
  for (const [reason, byType] of Object.entries(stats.droppedByReasonAndKind)) {
    for (const [type, count] of Object.entries(byType)) {
      emit("dropped", count, { ...emitter, [ATTR.dropReason]: reason, [ATTR.eventType]: type });
    }
  }
  emit("delivered", stats.delivered, emitter);
  // Not in the Recorder's drops: the event was accepted, then lost, so only this says it is missing.
  emit("droppedAfterAccept", stats.droppedAfterAccept, emitter);
  emit("spooled", stats.spooled, emitter);
  emit("retries", stats.retried, emitter);
  emit("queueEvents", stats.queueEvents, emitter);
  emit("queueBytes", stats.queueBytes, emitter);
  emit("parkedEvents", stats.parkedEvents, emitter);
  emit("spoolEvents", stats.spoolEvents, emitter);
  emit("spoolBytes", stats.spoolBytes, emitter);
}

/** One series: the metric and its attributes, in key order. */
function seriesId(key: ObservedKey, attributes: Attributes | undefined): string {
  const entries = Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([key, entries]);
}

/** The emitter and, for one that fans out, every emitter below it. */
function emitterTree(stats: EmitterStats): EmitterStats[] {
  return [stats, ...(stats.sinks ?? []).flatMap(emitterTree)];
}

/** A delivery emitter's stats: the only emitter stats with the crossed drop counts. */
function isDeliveryStats(stats: EmitterStats): stats is DeliveryStats {
  const { droppedByReasonAndKind, queueEvents } = stats as Partial<DeliveryStats>;
  return typeof droppedByReasonAndKind === "object" && typeof queueEvents === "number";
}
