/**
 * otelTraceContext with a span context the OpenTelemetry API takes as valid but writes its ids
 * in upper-case hex (a B3 or Jaeger header from a caller that writes them so: the API's
 * isSpanContextValid accepts A-F, and a child span inherits the trace id as written).
 */
import { context, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

it("gives the event the ids of a span whose trace id the caller wrote in upper case, in lower case", () => {
  const memory = createMemoryEmitter();
  const errors: Error[] = [];
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    traceContext: otelTraceContext(),
    onError: (error) => errors.push(error),
  });
  const remote = trace.setSpanContext(context.active(), {
    traceId: "4BF92F3577B34DA6A3CE929D0E0E4736",
    spanId: "00F067AA0BA902B7",
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const tracer = new BasicTracerProvider().getTracer("test");
  const span = tracer.startSpan("rpc", {}, remote);
  expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
  context.with(trace.setSpan(remote, span), () => {
    recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
  });
  span.end();
  expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual([
    ["4bf92f3577b34da6a3ce929d0e0e4736", span.spanContext().spanId.toLowerCase()],
  ]);
  expect(errors).toEqual([]);
});
