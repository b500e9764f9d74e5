// The event of a client-streaming or bidi call is recorded when the call's HTTP/2 stream closes (see
// `heldStream` in ruled-call.ts), outside the handler's async context. With otelTraceContext
// and a tracing interceptor after the audit chain, over real loopback gRPC, it must still carry the
// handler's span, as the events of unary and server-streaming calls, recorded at their status, do.

import { type ClientDuplexStream, status } from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemberChange, MemberChangeResult } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import {
  CALL_KINDS,
  type CallKind,
  callOfKind,
  type ProjectServer,
  startProjectServer,
} from "../helpers/project-server.js";
import { CLIENT_TRACE_ID, REQUEST_ID, testTracing, tracedMetadata } from "./tracing-interceptor.js";

const CHANGE = { member: { memberId: 7, projectId: "p-1", userId: "u-1", role: "viewer" } } as MemberChange;

const { exporter, tracingInterceptor } = testTracing();

/** The example's rules, except that the request-streaming methods record accesses. */
const IMPORT_MEMBERS = "/example.v1.ProjectService/ImportMembers";
const SYNC_MEMBERS = "/example.v1.ProjectService/SyncMembers";
const ACCESS_RULES: RuleTable = {
  ...auditRules,
  [IMPORT_MEMBERS]: { ...auditRules[IMPORT_MEMBERS], event: "access" },
  [SYNC_MEMBERS]: { ...auditRules[SYNC_MEMBERS], event: "access" },
};

describe("events of request-streaming calls with otelTraceContext over real gRPC", () => {
  const contextManager = new AsyncLocalStorageContextManager();
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    traceContext: otelTraceContext(),
  });
  let mutations: ProjectServer;
  let accesses: ProjectServer;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    const start = (rules: RuleTable) =>
      startProjectServer([...createAuditInterceptors({ recorder, rules }), tracingInterceptor()]);
    mutations = await start(auditRules);
    accesses = await start(ACCESS_RULES);
  });
  afterAll(async () => {
    await mutations.close();
    await accesses.close();
    await recorder.close();
    context.disable();
  });

  /** The call's event: its type, result message and ids; and the span its handler ran in. */
  async function traced(requestId: string) {
    const event: AuditEvent = await memory.waitFor({ requestId });
    const span = exporter.getFinishedSpans().find((s) => s.attributes[REQUEST_ID] === requestId);
    return {
      event: {
        type: event.eventType,
        message: event.result?.message,
        ids: `${event.traceId}/${event.spanId}`,
      },
      handlerSpan: span?.spanContext(),
    };
  }

  /** Calls each kind, then checks that each one's event has `type` and its handler's span ids. */
  async function callEach(
    server: ProjectServer,
    kinds: readonly CallKind[],
    withTraceparent: boolean,
    type: EventType,
  ) {
    const seen: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const kind of kinds) {
      const requestId = `${kind}-${withTraceparent}-${server.port}`;
      const call = await callOfKind(server.client, kind, tracedMetadata(requestId, withTraceparent));
      expect(call.code).toBe(status.OK);
      const { event, handlerSpan } = await traced(requestId);
      // With a traceparent the span continues the caller's trace: only its span id tells it apart.
      if (withTraceparent) expect(handlerSpan?.traceId).toBe(CLIENT_TRACE_ID);
      seen[kind] = event;
      expected[kind] = { type, message: "", ids: `${handlerSpan?.traceId}/${handlerSpan?.spanId}` };
    }
    expect(seen).toStrictEqual(expected);
  }

  for (const withTraceparent of [true, false]) {
    it(`gives every call kind's mutation event the handler's span (traceparent: ${withTraceparent})`, async () => {
      await callEach(mutations, CALL_KINDS, withTraceparent, EventType.EVENT_TYPE_RESOURCE_MUTATION);
    });

    it(`gives the access events of request-streaming calls the handler's span (traceparent: ${withTraceparent})`, async () => {
      const kinds: CallKind[] = ["client_streaming", "bidi_streaming"];
      await callEach(accesses, kinds, withTraceparent, EventType.EVENT_TYPE_RESOURCE_ACCESS);
    });
  }

  /** Starts a SyncMembers call and sends one change; resolves to the call and its status code. */
  function syncMembers(requestId: string, deadline?: number) {
    const call: ClientDuplexStream<MemberChange, MemberChangeResult> = mutations.client.syncMembers(
      tracedMetadata(requestId, true),
      deadline === undefined ? {} : { deadline },
    );
    const code = new Promise<number>((resolve) => {
      call.on("error", () => {});
      call.on("status", (end: { code: number }) => resolve(end.code));
    });
    call.write(CHANGE);
    return { call, code };
  }

  it("gives a bidi call cancelled after its handler answered the handler's span", async () => {
    // A first call warms the connection: a first call's reset can reach the server before the end of
    // its messages, and is then recorded at the cancel, not at the stream's close.
    await callOfKind(mutations.client, "bidi_streaming", tracedMetadata("warm", true));
    await memory.waitFor({ requestId: "warm" });
    const { call, code } = syncMembers("cancelled");
    // The handler answers each change: once the answer is here, it waits for the next one. A grpc-js
    // client's cancel then ends its messages, the handler answers OK, and the reset follows.
    await new Promise((resolve) => call.once("data", resolve));
    await new Promise((resolve) => setImmediate(resolve));
    call.cancel();
    expect(await code).toBe(status.CANCELLED);
    const { event, handlerSpan } = await traced("cancelled");
    expect(event).toStrictEqual({
      type: EventType.EVENT_TYPE_RESOURCE_MUTATION,
      message:
        "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
      ids: `${handlerSpan?.traceId}/${handlerSpan?.spanId}`,
    });
  });

  it("gives a bidi call that its client's deadline ended the handler's span", async () => {
    // The client's deadline timer ends its messages, then resets the stream: as a cancel does.
    const { code } = syncMembers("late", Date.now() + 300);
    expect(await code).toBe(status.DEADLINE_EXCEEDED);
    const { event, handlerSpan } = await traced("late");
    expect(event).toStrictEqual({
      type: EventType.EVENT_TYPE_RESOURCE_MUTATION,
      message: "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK",
      ids: `${handlerSpan?.traceId}/${handlerSpan?.spanId}`,
    });
  });
});
