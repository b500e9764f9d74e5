import { performance } from "node:perf_hooks";
import { type Attributes, type Histogram, type MeterProvider, metrics } from "@opentelemetry/api";
import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { AUDIT_METER_NAME } from "./instrument-audit.js";
import { AUDIT_METRIC_ATTRIBUTES as ATTR, AUDIT_METRICS, SINK_WRITE_BUCKETS_S } from "./metric-names.js";

/** Options of `instrumentSink`. */
export interface SinkInstrumentationOptions {
  /**
   * Where the histogram is created (meter "grpc-audit"). Default: the global
   * `metrics.getMeterProvider()` as it is when `instrumentSink` is called (see `instrumentAudit`).
   */
  meterProvider?: MeterProvider;
  /** Monotonic clock in milliseconds, for tests. Default: `performance.now`. */
  monotonicNowMs?: () => number;
}

/** The option names of `SinkInstrumentationOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({ meterProvider: 1, monotonicNowMs: 1 } satisfies Record<
  keyof SinkInstrumentationOptions,
  1
>);

/**
 * Wraps an EventSink so that every batch write is timed into `grpc_audit.sink.write.duration`
 * (seconds, attribute `grpc_audit.sink.name`; a write that rejects also gets `error.type`, the
 * error's name). The wrapped sink behaves as the original: same name, limits (`maxEventBytes` and
 * the `acceptsEvent` check) and close, same results and errors. Give it to `createDeliveryEmitter` in
 * place of the sink, or to a broker emitter as its `wrapSink` (the broker emitter makes its own sink).
 *
 * Throws an AuditConfigError when `sink` has no `write()` or `meterProvider` no `getMeter()`.
 *
 * ```ts
 * const store = openAuditStore({ path: "./audit.db" }); // grpc-audit/store
 * const emitter = createDeliveryEmitter({ sink: instrumentSink(store.sink()) });
 * const toNats = createBrokerEmitter({ broker, topic: "audit.projects", wrapSink: instrumentSink });
 * ```
 */
export function instrumentSink(sink: EventSink, options: SinkInstrumentationOptions = {}): EventSink {
  if (typeof sink !== "object" || sink === null || typeof sink.write !== "function") {
    throw new AuditConfigError("instrumentSink: `sink` must be an EventSink (an object with write())");
  }
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("instrumentSink: options must be an object");
  rejectUnknownOptions("instrumentSink", options, OPTION_NAMES);
  const { meterProvider, monotonicNowMs = () => performance.now() } = options;
  // As instrumentAudit checks it: `null` must not fall back to the global provider without a word.
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== "function") {
    throw new AuditConfigError("instrumentSink: `meterProvider` must be an OpenTelemetry MeterProvider");
  }
  if (typeof monotonicNowMs !== "function") {
    throw new AuditConfigError("instrumentSink: `monotonicNowMs` must be a function");
  }
  const { name, unit, description } = AUDIT_METRICS.sinkWriteDuration;
  const histogram = (meterProvider ?? metrics.getMeterProvider())
    .getMeter(AUDIT_METER_NAME)
    .createHistogram(name, {
      unit,
      description,
      advice: { explicitBucketBoundaries: [...SINK_WRITE_BUCKETS_S] },
    });
  const timed = timer(histogram, { [ATTR.sinkName]: sink.name }, monotonicNowMs);
  const wrapped: EventSink = {
    name: sink.name,
    write: (batch, writeOptions) => timed(() => sink.write(batch, writeOptions), writeOptions?.signal),
    ...(sink.writeEncoded === undefined
      ? {}
      : {
          writeEncoded: (batch, writeOptions) =>
            timed(() => sink.writeEncoded?.(batch, writeOptions), writeOptions?.signal),
        }),
    ...(sink.maxEventBytes === undefined ? {} : { maxEventBytes: sink.maxEventBytes }),
    // Without it the pipeline would take events the sink can never write, and retry them for ever.
    ...(sink.acceptsEvent === undefined
      ? {}
      : { acceptsEvent: (event, encodedBytes) => sink.acceptsEvent?.(event, encodedBytes) !== false }),
    ...(sink.close === undefined ? {} : { close: () => sink.close?.() ?? Promise.resolve() }),
  };
  return wrapped;
}

/**
 * Runs a write and records how long it took, once: when it settles (with `error.type` when it
 * rejected) or when its signal is aborted, whichever comes first. The pipeline aborts a write it
 * stops waiting for (writeTimeoutMs, close), and a sink that ignores the signal may never settle.
 */
function timer(histogram: Histogram, attributes: Attributes, now: () => number) {
  const failed = (error: unknown): Attributes => ({
    ...attributes,
    [ATTR.errorType]: error instanceof Error ? error.name : "_OTHER",
  });
  return async (write: () => Promise<void> | undefined, signal: AbortSignal | undefined): Promise<void> => {
    // A clock that throws before the write must not keep the write from happening either.
    let startedAt = Number.NaN;
    measure(() => {
      startedAt = now();
    });
    let recorded = false;
    let stopListening = () => {};
    const finish = (recordedAttributes: Attributes) => {
      if (recorded) return;
      recorded = true;
      // A signal shared by many writes must not collect a listener per write.
      stopListening();
      measure(() => {
        const elapsed = seconds(now() - startedAt);
        if (Number.isFinite(elapsed)) histogram.record(elapsed, recordedAttributes);
      });
    };
    const onAbort = () => finish(failed(signal?.reason));
    if (signal?.aborted) onAbort();
    else if (signal !== undefined) stopListening = onSharedAbort(signal, onAbort);
    try {
      await write();
    } catch (error) {
      finish(failed(error));
      throw error;
    }
    finish(attributes);
  };
}

/** The writes waiting on each signal, and the one listener that calls them when it is aborted. */
const pendingBySignal = new WeakMap<AbortSignal, { writes: Set<() => void>; listener: () => void }>();

/**
 * Calls `onAbort` when `signal` is aborted, until the returned function stops it. The writes given one
 * signal share a single listener on it: one each would make Node warn (MaxListenersExceededWarning)
 * past 10 concurrent writes, and `events.addAbortListener` adds one each too. The caller's signal is
 * left as it was (no setMaxListeners on it), and it keeps no listener once no write waits on it.
 */
function onSharedAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let pending = pendingBySignal.get(signal);
  if (pending === undefined) {
    const writes = new Set<() => void>();
    const listener = () => {
      pendingBySignal.delete(signal);
      // In the order the writes started; a copy, as each one takes itself out of the set.
      for (const write of [...writes]) write();
    };
    pending = { writes, listener };
    pendingBySignal.set(signal, pending);
    signal.addEventListener("abort", listener, { once: true });
  }
  const { writes, listener } = pending;
  writes.add(onAbort); // a closure of its own per write
  return () => {
    writes.delete(onAbort);
    if (writes.size > 0 || pendingBySignal.get(signal)?.writes !== writes) return;
    pendingBySignal.delete(signal);
    signal.removeEventListener("abort", listener);
  };
}

/**
 * Takes a measurement; a meter (or clock) that throws must not change the write's outcome: a write
 * the sink took that rejected would be written again by the pipeline, a failed one lose its error.
 */
function measure(take: () => void): void {
  try {
    take();
  } catch {
    // The measurement is lost; the write's result stands.
  }
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
