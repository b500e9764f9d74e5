// A client that resets its call with RST_STREAM NO_ERROR (0), over real loopback gRPC: Node's default
// `stream.close()`, where grpc-js clients send CANCEL. The raw `node:http2` client here stands in for
// such a non-grpc-js HTTP/2 client (grpc-js's own client cannot send that code). Node tells the server's
// stream of that reset at once ('aborted'), but closes it, the 'close' grpc-js waits for to report a
// cancel, only once its paused readable side is read: the call went on as if the client still waited
// (an authn answer let it on to authz and its handler, an authz check ran to its full `timeoutMs`, a
// handler's answer was recorded OK with no cancel note). It must end as a grpc-js client's cancel does.
import http2 from "node:http2";
import {
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { Authenticator, AuthnOutcome } from "../../src/authn/authenticator.js";
import type { Authorizer, Decision } from "../../src/authz/authorizer.js";
import {
  AddMemberRequest,
  DeleteProjectRequest,
  type ImportMembersResponse,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { AUTHZ_RULES_FROM_METADATA, METHOD_OF_KIND } from "../helpers/project-server.js";

const UNARY = METHOD_OF_KIND.unary;
const CLIENT_STREAMING = METHOD_OF_KIND.client_streaming;

/**
 * DeleteProject's rule reads the object id from metadata here, as ImportMembers' does: its check then
 * runs before grpc-js reads the request (one from the request message waits for it, and for its end).
 */
const AUTHZ_RULES: AuthzRuleTable = {
  ...AUTHZ_RULES_FROM_METADATA,
  [UNARY]: {
    ...(AUTHZ_RULES_FROM_METADATA[UNARY] as AuthzRule),
    objectIdSource: "metadata:x-project-id",
    objectId: (AUTHZ_RULES_FROM_METADATA[CLIENT_STREAMING] as AuthzRule).objectId,
  },
};

const CANCELLED_OK =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

type Held = "authn" | "authz" | "handler";

/**
 * A server with the audit chain whose authenticator (`authn`), authorizer (`authz`, honouring the
 * check's signal) or ImportMembers handler (`handler`, after its first message; asyncService, which
 * reports how it settled) waits until the test calls `release`. An interceptor after the chain counts the calls whose end the server saw.
 */
async function start(held: Held, before: ServerInterceptor[] = []) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let waiting = 0;
  const signals: AbortSignal[] = [];
  const alice: AuthnOutcome = { kind: "authenticated", actor: { id: "alice" } };
  const authenticator: Authenticator = {
    method: "test",
    authenticate: async () => {
      if (held !== "authn") return alice;
      waiting++;
      await gate;
      return alice;
    },
  };
  const authorizer: Authorizer = {
    check: (_request, options) => {
      if (held !== "authz") return Promise.resolve<Decision>({ kind: "allowed", cacheHit: false });
      waiting++;
      if (options?.signal !== undefined) signals.push(options.signal);
      return new Promise<Decision>((_resolve, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true }),
      );
    },
    batchCheck: async () => [],
  };
  let serverSawEnd = 0;
  const endWatcher: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnCancel(() => {
                serverSawEnd++;
              })
              .build(),
          ),
        )
        .build(),
    );
  const server = new Server({
    interceptors: [
      ...before,
      ...createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [authenticator] },
        // Far beyond the test's own timeout: only the call's end may abort the check.
        authz: { authorizer, rules: AUTHZ_RULES, timeoutMs: 600_000 },
      }),
      endWatcher,
    ],
  });
  let handlersRun = 0;
  server.addService(
    ProjectServiceService,
    asyncService(ProjectServiceService, {
      deleteProject: async () => {
        handlersRun++;
        return {};
      },
      // Works on each message before it reads the next: the messages the client sent meanwhile fill the
      // call's buffer, and grpc-js stops reading the HTTP/2 stream.
      async importMembers(call: AsyncIterable<AddMemberRequest>): Promise<ImportMembersResponse> {
        handlersRun++;
        for await (const _ of call) {
          waiting++;
          await gate;
          break;
        }
        return { projectId: "p-1", imported: 1 };
      },
    } as never),
  );
  const port = await listenOnLoopback(server);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanup = () => {
    release();
    session.destroy();
    server.forceShutdown();
  };
  return {
    memory,
    recorder,
    session,
    signals,
    release,
    waiting: () => waiting,
    handlersRun: () => handlersRun,
    serverSawEnd: () => serverSawEnd,
  };
}

/** One length-prefixed gRPC message. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

type Kind = "unary" | "client_streaming";

/**
 * Starts a call of `kind`: a unary one sends its request and ends its messages; a client-streaming
 * one sends `messages` requests of about `bytes` each and keeps its sending side open.
 */
function startCall(
  session: http2.ClientHttp2Session,
  kind: Kind,
  { messages, bytes } = { messages: 1, bytes: 1 },
): http2.ClientHttp2Stream {
  const request = session.request({
    ":method": "POST",
    ":path": METHOD_OF_KIND[kind],
    "content-type": "application/grpc",
    te: "trailers",
    "x-project-id": "p-1",
  });
  request.on("error", () => {});
  request.on("data", () => {});
  if (kind === "unary") request.end(frame(DeleteProjectRequest.encode({ id: "p-1" }).finish()));
  else {
    const add = frame(
      AddMemberRequest.encode({ projectId: "p-1", userId: "u".repeat(bytes), role: "viewer" }).finish(),
    );
    for (let i = 0; i < messages; i++) request.write(add);
  }
  return request;
}

/**
 * Resets `request` with NO_ERROR, and resolves once the server has read that reset: its RST_STREAM
 * went out before the PING sent after it, and the server answers a PING after the frames before it.
 */
async function resetNoError(session: http2.ClientHttp2Session, request: http2.ClientHttp2Stream) {
  await new Promise<void>((resolve) => request.close(http2.constants.NGHTTP2_NO_ERROR, resolve));
  expect(request.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
  await new Promise<void>((resolve, reject) =>
    session.ping((error) => (error === null ? resolve() : reject(error))),
  );
}

const seen = (memory: ReturnType<typeof createMemoryEmitter>) =>
  memory.events.map((e) => [
    e.eventType,
    e.detail?.$case === "authn" ? e.detail.value.success : undefined,
    e.detail?.$case === "authz" ? [e.detail.value.decision, e.detail.value.errorReason] : undefined,
    e.result?.success,
    e.result?.code,
    e.result?.message,
  ]);

describe("a call its client resets with RST_STREAM NO_ERROR", () => {
  // The last one below an interceptor of the application's: the scope interceptor finds grpc-js's call,
  // and its stream, below it.
  const passthrough: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
  it.each([
    ["unary", "unary", []],
    ["client_streaming", "client_streaming", []],
    ["client_streaming, below an interceptor of the application's", "client_streaming", [passthrough]],
  ] as const)(
    "while authn waits (%s): the call ends at once, its handler never runs, authn recorded CANCELLED",
    async (_label, kind, before) => {
      const s = await start("authn", [...before]);
      const request = startCall(s.session, kind);
      await expect.poll(() => s.waiting()).toBe(1);
      await resetNoError(s.session, request);
      expect(s.serverSawEnd()).toBe(1);

      s.release();
      await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHN_RESULT });
      await s.recorder.flush();
      expect(seen(s.memory)).toStrictEqual([
        [EventType.EVENT_TYPE_AUTHN_RESULT, true, undefined, false, "CANCELLED", ""],
      ]);
      expect(s.handlersRun()).toBe(0);
      await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
    },
  );

  it.each(["unary", "client_streaming"] as const)(
    "while authz waits (%s): the check's signal aborts at once, authz recorded ERROR timeout CANCELLED",
    async (kind) => {
      const s = await start("authz");
      const request = startCall(s.session, kind);
      await expect.poll(() => s.waiting()).toBe(1);
      await resetNoError(s.session, request);
      expect(s.serverSawEnd()).toBe(1);
      expect(s.signals.map((signal) => signal.aborted)).toStrictEqual([true]);

      await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
      await s.recorder.flush();
      expect(seen(s.memory)).toStrictEqual([
        [EventType.EVENT_TYPE_AUTHN_RESULT, true, undefined, true, "OK", ""],
        [
          EventType.EVENT_TYPE_AUTHZ_DECISION,
          undefined,
          [AuthzDecision.AUTHZ_DECISION_ERROR, "timeout"],
          false,
          "CANCELLED",
          "",
        ],
      ]);
      expect(s.handlersRun()).toBe(0);
      await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
    },
  );

  it("while its handler works: the handler's OK is recorded with the cancel note", async () => {
    const s = await start("handler");
    // More than its buffer and grpc-js's take: the rest waits, unread, in the server's HTTP/2 stream.
    const request = startCall(s.session, "client_streaming", { messages: 60, bytes: 1000 });
    await expect.poll(() => s.waiting()).toBe(1);
    await resetNoError(s.session, request);
    expect(s.serverSawEnd()).toBe(1);

    // The handler answers only now, for a call its client had reset.
    s.release();
    await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
    await s.recorder.flush();
    expect(seen(s.memory)).toStrictEqual([
      [EventType.EVENT_TYPE_AUTHN_RESULT, true, undefined, true, "OK", ""],
      [
        EventType.EVENT_TYPE_AUTHZ_DECISION,
        undefined,
        [AuthzDecision.AUTHZ_DECISION_ALLOWED, ""],
        true,
        "OK",
        "",
      ],
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, undefined, undefined, true, "OK", CANCELLED_OK],
    ]);
    await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
  });
});
