import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import type { TraceIds } from "../recorder/trace-ids.js";

/**
 * A reader of the active OpenTelemetry span, for the Recorder's `traceContext` option: every event
 * then carries the trace id and span id of the span active where it was recorded (the handler's span
 * that a grpc-js instrumentation or your own interceptor started), and the call's `traceparent` ids
 * only when no valid span is active. It reads the global context manager that your OpenTelemetry SDK
 * registers; without one, no span is ever active.
 *
 * ```ts
 * const recorder = createRecorder({ service: "projects", emitters, traceContext: otelTraceContext() });
 * ```
 */
export function otelTraceContext(): () => TraceIds | undefined {
  return () => {
    const span = trace.getSpanContext(context.active());
    if (span === undefined || !isSpanContextValid(span)) return undefined;
    // The API takes upper-case hex as valid (a B3 or Jaeger header may carry it, and child spans keep
    // the trace id as written); events carry W3C ids, in lower case.
    return { traceId: span.traceId.toLowerCase(), spanId: span.spanId.toLowerCase() };
  };
}
