import { Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { type Context, context, type Span, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** The span attribute that holds the call's `x-request-id`, so a test can find a call's span. */
export const REQUEST_ID = "request.id";

export const propagator = new W3CTraceContextPropagator();

/** The caller's trace id and span id in CLIENT_TRACEPARENT, the W3C header a test client sends. */
export const CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
export const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE_ID}-00f067aa0ba902b7-01`;

/** A call's metadata: its `x-request-id`, and CLIENT_TRACEPARENT when `withTraceparent`. */
export function tracedMetadata(requestId: string, withTraceparent: boolean): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  if (withTraceparent) metadata.set("traceparent", CLIENT_TRACEPARENT);
  return metadata;
}

/**
 * The real SDK's in-memory tracer, and a tracing interceptor as an instrumentation makes one: when the
 * metadata arrives it continues the caller's trace in a server span (attribute REQUEST_ID), and runs
 * the rest of the call (the handler included) inside it; the span ends at the status.
 */
export function testTracing(): {
  exporter: InMemorySpanExporter;
  tracingInterceptor: () => ServerInterceptor;
} {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }).getTracer("test");
  const tracingInterceptor = (): ServerInterceptor => (_method, call) => {
    let active: Context = context.active();
    let span: Span | undefined;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const carrier = { traceparent: String(metadata.get("traceparent")[0] ?? "") };
            const parent = propagator.extract(context.active(), carrier, {
              get: (c, key) => (key === "traceparent" ? c.traceparent : undefined),
              keys: () => ["traceparent"],
            });
            const attributes = { [REQUEST_ID]: String(metadata.get("x-request-id")[0]) };
            span = tracer.startSpan("rpc", { attributes }, parent);
            active = trace.setSpan(parent, span);
            context.with(active, () => nextMetadata(metadata));
          },
          onReceiveMessage: (message, nextMessage) => context.with(active, () => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => context.with(active, () => nextHalfClose()),
        }),
      sendStatus: (status, nextStatus) => {
        span?.end();
        nextStatus(status);
      },
    });
  };
  return { exporter, tracingInterceptor };
}
