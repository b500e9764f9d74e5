/**
 * OpenTelemetry for grpc-audit (`grpc-audit/otel`): the Recorder's and the delivery pipeline's
 * counters as metrics, sink write latency, and the trace and span id of the active span for events.
 * The only entry point that imports `@opentelemetry/api` (an optional peer); it starts no SDK and
 * exports nothing itself: your MeterProvider and TracerProvider do.
 */

export type { TraceIds } from "../recorder/trace-ids.js";
export {
  AUDIT_METER_NAME,
  type AuditInstrumentation,
  type AuditInstrumentationOptions,
  instrumentAudit,
} from "./instrument-audit.js";
export { instrumentSink, type SinkInstrumentationOptions } from "./instrument-sink.js";
export { AUDIT_METRIC_ATTRIBUTES, AUDIT_METRICS, SINK_WRITE_BUCKETS_S } from "./metric-names.js";
export { otelTraceContext } from "./trace-context.js";
