// The event of a call whose client cancelled or whose deadline passed while its asyncService handler
// still ran is recorded when `handlerSettleTimeoutMs` runs out, from a timer set at the cancel: outside
// the handler's async context. With otelTraceContext and a tracing interceptor after the audit chain,
// over real loopback gRPC, it must still carry the span the handler ran in, as an event recorded at the
// handler's status does. (A plain grpc-js handler's start reaches no interceptor: its event carries the
// cancel's context, as docs/opentelemetry.md says.)

import { type ClientReadableStream, credentials, type Metadata, Server, status } from "@grpc/grpc-js";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type ArchiveProgress,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { asyncService } from "../../src/server/async-service.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { testTracing, tracedMetadata } from "./tracing-interceptor.js";

const SETTLE_TIMEOUT_MS = 50;
const UNFINISHED = `the handler had not finished ${SETTLE_TIMEOUT_MS} ms later`;

/** The example's rules, except that DeleteProject records an access. */
const DELETE_PROJECT = "/example.v1.ProjectService/DeleteProject";
const ACCESS_RULES: RuleTable = {
  ...auditRules,
  [DELETE_PROJECT]: { ...auditRules[DELETE_PROJECT], event: "access" },
};

const { tracingInterceptor } = testTracing();

/** Handlers that note the span active in them, then run until the test lets them go. */
function blockingHandlers() {
  const handlerSpans = new Map<string, string>();
  const releases: (() => void)[] = [];
  const run = (metadata: Metadata) => {
    const span = trace.getSpanContext(context.active());
    handlerSpans.set(String(metadata.get("x-request-id")[0]), `${span?.traceId}/${span?.spanId}`);
    return new Promise<void>((resolve) => releases.push(resolve));
  };
  const service = asyncService(ProjectServiceService, {
    async deleteProject(call) {
      await run(call.metadata);
      return {};
    },
    async archiveProject(call) {
      await new Promise<void>((resolve) => call.write({ projectId: "p-1", percent: 10 }, () => resolve()));
      await run(call.metadata);
    },
    createProject: unused,
    getProject: unused,
    updateProject: unused,
    addMember: unused,
    removeMember: unused,
    importMembers: unused,
    syncMembers: unused,
    listMembers: unused,
  });
  return {
    service,
    handlerSpans,
    releaseAll: () => {
      for (const release of releases.splice(0)) release();
    },
  };
}

async function unused(): Promise<never> {
  throw { code: status.UNIMPLEMENTED, details: "not in this test" };
}

describe("events of calls that ended while their asyncService handler ran, over real gRPC", () => {
  const contextManager = new AsyncLocalStorageContextManager();
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    traceContext: otelTraceContext(),
  });
  const handlers = blockingHandlers();
  const servers: Server[] = [];
  let mutations: ProjectServiceClient;
  let accesses: ProjectServiceClient;

  /** A server with the audit chain (`rules`), then the tracing interceptor; resolves to its client. */
  async function serve(rules: RuleTable): Promise<ProjectServiceClient> {
    const audit = createAuditInterceptors({ recorder, rules, handlerSettleTimeoutMs: SETTLE_TIMEOUT_MS });
    const server = new Server({ interceptors: [...audit, tracingInterceptor()] });
    server.addService(ProjectServiceService, handlers.service);
    servers.push(server);
    const port = await listenOnLoopback(server);
    return new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  }

  afterEach(() => {
    vi.useRealTimers(); // the held Date of deleteWithDeadline
  });
  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    mutations = await serve(auditRules);
    accesses = await serve(ACCESS_RULES);
  });
  afterAll(async () => {
    // Let the waiting handlers end, so that the servers' graceful shutdown does not wait for them.
    handlers.releaseAll();
    mutations.close();
    accesses.close();
    await Promise.all(servers.map(stopServer));
    await recorder.close();
    context.disable();
  });

  /** The call's event (type, result message, ids), and the span ids its handler saw active. */
  async function traced(requestId: string) {
    const event: AuditEvent = await memory.waitFor({ requestId });
    return {
      event: {
        type: event.eventType,
        message: event.result?.message,
        ids: `${event.traceId}/${event.spanId}`,
      },
      handlerSpan: handlers.handlerSpans.get(requestId),
    };
  }

  /**
   * A DeleteProject call whose deadline passes while its handler waits; resolves to its status code.
   * The deadline is one the server reads as the client's (a server that read the call late recorded a
   * cancel); Date stays faked until the test ends.
   */
  function deleteWithDeadline(client: ProjectServiceClient, requestId: string, withTraceparent: boolean) {
    const clock = holdDeadline();
    return new Promise<number>((resolve) =>
      client.deleteProject(
        { id: "p-1" },
        tracedMetadata(requestId, withTraceparent),
        // The handler runs until the test ends: only the deadline ends the call, whenever it passes.
        { deadline: clock.deadline },
        (error) => {
          clock.passed();
          resolve(error?.code ?? status.OK);
        },
      ),
    );
  }

  for (const withTraceparent of [true, false]) {
    it(`gives a unary mutation past its deadline the handler's span (traceparent: ${withTraceparent})`, async () => {
      const requestId = `deadline-mutation-${withTraceparent}`;
      expect(await deleteWithDeadline(mutations, requestId, withTraceparent)).toBe(status.DEADLINE_EXCEEDED);
      const { event, handlerSpan } = await traced(requestId);
      if (withTraceparent) expect(handlerSpan?.startsWith("4bf92f3577b34da6a3ce929d0e0e4736/")).toBe(true);
      expect(event).toStrictEqual({
        type: EventType.EVENT_TYPE_RESOURCE_MUTATION,
        message: `the deadline had passed (DEADLINE_EXCEEDED); ${UNFINISHED}: it may have completed the change`,
        ids: handlerSpan,
      });
    });

    it(`gives a unary access past its deadline the handler's span (traceparent: ${withTraceparent})`, async () => {
      const requestId = `deadline-access-${withTraceparent}`;
      expect(await deleteWithDeadline(accesses, requestId, withTraceparent)).toBe(status.DEADLINE_EXCEEDED);
      const { event, handlerSpan } = await traced(requestId);
      expect(event).toStrictEqual({
        type: EventType.EVENT_TYPE_RESOURCE_ACCESS,
        message: `the deadline had passed (DEADLINE_EXCEEDED); ${UNFINISHED}: it may have completed the read`,
        ids: handlerSpan,
      });
    });

    it(`gives a server-streaming call cancelled mid-handler the handler's span (traceparent: ${withTraceparent})`, async () => {
      const requestId = `cancel-stream-${withTraceparent}`;
      const call: ClientReadableStream<ArchiveProgress> = mutations.archiveProject(
        { projectId: "p-1" },
        tracedMetadata(requestId, withTraceparent),
      );
      call.on("error", () => {}); // the status says how it ended
      const code = new Promise<number>((resolve) => call.on("status", (end) => resolve(end.code)));
      // The handler wrote its first message and now waits: cancel while it runs.
      await new Promise((resolve) => call.once("data", resolve));
      call.cancel();
      expect(await code).toBe(status.CANCELLED);
      const { event, handlerSpan } = await traced(requestId);
      expect(event).toStrictEqual({
        type: EventType.EVENT_TYPE_RESOURCE_MUTATION,
        message: `the call was cancelled (CANCELLED): by the client or a server shutdown; ${UNFINISHED}: it may have completed the change`,
        ids: handlerSpan,
      });
    });
  }
});
