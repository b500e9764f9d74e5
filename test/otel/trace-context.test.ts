import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import { context, type SpanContext, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`;

/**
 * A tracing interceptor as a user writes one (or an instrumentation installs it): it starts a span
 * per call and runs the rest of the call, the handler included, with that span active.
 */
function tracingInterceptor(started: SpanContext[]): ServerInterceptor {
  const tracer = new BasicTracerProvider().getTracer("test");
  return (_method, call: ServerInterceptingCallInterface) => {
    const span = tracer.startSpan("rpc");
    started.push(span.spanContext());
    const active = trace.setSpan(context.active(), span);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => context.with(active, () => nextMetadata(metadata)),
          onReceiveMessage: (message, nextMessage) => context.with(active, () => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => context.with(active, () => nextHalfClose()),
        }),
      sendStatus: (status, nextStatus) => {
        span.end();
        nextStatus(status);
      },
    });
  };
}

describe("otelTraceContext over real gRPC", () => {
  const contextManager = new AsyncLocalStorageContextManager();
  const started: SpanContext[] = [];
  let token = "";
  let server: ProjectServer;
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    traceContext: otelTraceContext(),
  });

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    const key = await newSigningKey("k1", "ES256");
    token = await signToken(key, { sub: "alice" });
    server = await startProjectServer([
      ...createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
      }),
      tracingInterceptor(started),
    ]);
  });
  afterAll(async () => {
    await server.close();
    context.disable();
  });

  it("gives the events recorded while the span is active its ids, the others the traceparent's", async () => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    metadata.set("traceparent", TRACEPARENT);
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "n" }, metadata);
    expect(error).toBeNull();
    const [span] = started;
    expect(started).toHaveLength(1);
    // authn runs before the tracing interceptor started its span; the mutation is recorded as the
    // handler's status goes out, inside the span.
    expect(memory.events.map((e) => [e.eventType, e.traceId, e.spanId])).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, CLIENT_TRACE_ID, CLIENT_SPAN_ID],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, span?.traceId, span?.spanId],
    ]);
    expect(span?.traceId).not.toBe(CLIENT_TRACE_ID);
  });

  it("outside any span, with no traceparent, leaves the ids empty", () => {
    memory.clear();
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:alice", relation: "editor", object: "project:p-1" }],
    });
    expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual([["", ""]]);
  });

  it("outside an RPC, inside a span, gives the span's ids", () => {
    memory.clear();
    const tracer = new BasicTracerProvider().getTracer("test");
    const ids = tracer.startActiveSpan("job", (span) => {
      recorder.recordTupleChange({
        tuples: [{ operation: "write", user: "user:alice", relation: "editor", object: "project:p-1" }],
      });
      span.end();
      return span.spanContext();
    });
    expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual([[ids.traceId, ids.spanId]]);
  });
});
