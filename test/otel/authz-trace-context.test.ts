import { Client, credentials, Metadata, status } from "@grpc/grpc-js";
import { context, propagation } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { propagator, testTracing } from "./tracing-interceptor.js";

const CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const { exporter, tracingInterceptor } = testTracing();

// The authz check of UpdateProject reads the object id from the request message, which grpc-js
// delivers in whatever async context it decoded it in: the first call of a connection gave the
// decision the handler's span, later ones none. The decision takes the context its call's metadata
// passed the authz interceptor in, on every call.
describe("authz decisions with otelTraceContext over real gRPC", () => {
  const contextManager = new AsyncLocalStorageContextManager();
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    traceContext: otelTraceContext(),
  });
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  let token = "";
  let server: ProjectServer;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(propagator);
    const key = await newSigningKey("k1", "ES256");
    token = await signToken(key, { sub: "alice" });
    server = await startProjectServer([
      ...createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: { authorizer: fake.authorizer, rules: authzRules },
      }),
      tracingInterceptor(),
    ]);
  });
  afterAll(async () => {
    await server.close();
    context.disable();
    propagation.disable();
  });

  it("carry the traceparent ids on every call of a connection, the first included, cached or not", async () => {
    const second = new ProjectServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const parents: string[] = [];
    for (let i = 0; i < 6; i++) {
      const client = i < 3 ? server.client : second;
      // Half the calls are answered from the authorizer's cache, synchronously, half by a check.
      fake.state.cache = i % 2 === 0 ? "off" : "hit";
      const parentSpanId = `00f067aa0ba902${(0xb0 + i).toString(16)}`;
      parents.push(parentSpanId);
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      metadata.set("traceparent", `00-${CLIENT_TRACE_ID}-${parentSpanId}-01`);
      const [error] = await unary(
        client.updateProject.bind(client),
        { project: { id: "p-1", name: `n${i}`, ownerId: "" } },
        metadata,
      );
      expect(error).toBeNull();
    }
    second.close();
    const spans = exporter.getFinishedSpans().map((s) => s.spanContext().spanId);
    expect(spans).toHaveLength(6);
    const authz = memory.events.filter((e) => e.eventType === EventType.EVENT_TYPE_AUTHZ_DECISION);
    const mutations = memory.events.filter((e) => e.eventType === EventType.EVENT_TYPE_RESOURCE_MUTATION);
    expect(authz.map((e) => [e.traceId, e.spanId])).toStrictEqual(parents.map((p) => [CLIENT_TRACE_ID, p]));
    expect(mutations.map((e) => [e.traceId, e.spanId])).toStrictEqual(spans.map((s) => [CLIENT_TRACE_ID, s]));
  });

  it("carry the traceparent ids when grpc-js answers a call without a request message inside the span", async () => {
    memory.clear();
    const parentSpanId = "00f067aa0ba902c0";
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    metadata.set("traceparent", `00-${CLIENT_TRACE_ID}-${parentSpanId}-01`);
    const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const raw = (b: Buffer) => b;
    const code = await new Promise<number>((resolve) => {
      // Half-closed with no message: grpc-js answers UNIMPLEMENTED from the handler's half-close.
      const call = client.makeClientStreamRequest(
        "/example.v1.ProjectService/UpdateProject",
        raw,
        raw,
        metadata,
        () => {},
      );
      call.on("status", (end: { code: number }) => resolve(end.code));
      call.end();
    });
    client.close();
    expect(code).toBe(status.UNIMPLEMENTED);
    const authz = memory.events.filter((e) => e.eventType === EventType.EVENT_TYPE_AUTHZ_DECISION);
    expect(authz.map((e) => [e.traceId, e.spanId])).toStrictEqual([[CLIENT_TRACE_ID, parentSpanId]]);
  });
});
