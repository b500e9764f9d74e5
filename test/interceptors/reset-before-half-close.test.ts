// A unary or server-streaming call whose client ends its messages and then resets the stream
// (RST_STREAM CANCEL) before the handler's status went out, over real loopback gRPC. The raw
// `node:http2` client stands in for any client that is not grpc-js: Node's `stream.close()` on a call
// that never ended its messages sends exactly these frames, the end and then the reset. The end starts
// the handler; one that answers at once hands its status on before the server reads the reset, and
// the status never goes out: the client gets no status. The call was recorded at that status, as a
// plain OK with no cancel note, and a read under the record policy { "resource.access": "failures" }
// was only counted, as a success. A hook on the server's real HTTP/2 stream holds the status where
// that race leaves it, so that the reset comes between the status and its trailers every time.
import http2 from "node:http2";
import { Server, type ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  ArchiveProjectRequest,
  DeleteProjectRequest,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { METHOD_OF_KIND } from "../helpers/project-server.js";

const UNARY = METHOD_OF_KIND.unary;
const SERVER_STREAMING = METHOD_OF_KIND.server_streaming;

const CANCELLED_OK =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

type Kind = "unary" | "server_streaming";
type Event = "mutation" | "access";

/**
 * The handlers: `asyncService` ones or plain grpc-js ones answering OK at once (ArchiveProject writes
 * one message and ends without waiting for it to go out), or plain ones answering when the call's
 * HTTP/2 stream closes, before grpc-js reports the cancel (DeleteProject fails with NOT_FOUND,
 * ArchiveProject ends without a message: grpc-js drops a message on a closed stream, and the status
 * that would follow it).
 */
type Handler = "asyncService" | "plain" | "plain at the close";

/**
 * A server with the audit chain under the record policy { "resource.access": "failures" }, whose
 * DeleteProject (unary) and ArchiveProject (server-streaming) rules record `event`. The HTTP/2 stream
 * of each call (on the call grpc-js hands `interceptors[0]`) never sends its trailers, the status:
 * `statusDue` resolves when grpc-js hands them to it. `handlerRan` resolves as a handler starts.
 */
async function start(event: Event, handler: Handler) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    record: { "resource.access": "failures" },
  });
  const table = auditRules as RuleTable;
  const rules: RuleTable = {
    [UNARY]: { ...table[UNARY], event } as AuditRule,
    [SERVER_STREAMING]: { ...table[SERVER_STREAMING], event } as AuditRule,
  };
  let due = () => {};
  const statusDue = new Promise<void>((resolve) => {
    due = resolve;
  });
  let ran = () => {};
  const handlerRan = new Promise<void>((resolve) => {
    ran = resolve;
  });
  let handlersRun = 0;
  let answer = () => {};
  // Hands grpc-js's own call on as it is: the audit chain finds it as when it is outermost. The close
  // listener comes after grpc-js's, which defers its report of the cancel to the next tick.
  const holdTrailers: ServerInterceptor = (_method, call) => {
    const stream = (call as unknown as { stream: http2.ServerHttp2Stream }).stream;
    stream.sendTrailers = due;
    stream.once("close", () => answer());
    return call as ServerInterceptingCall;
  };
  const server = new Server({
    interceptors: [holdTrailers, ...createAuditInterceptors({ recorder, rules })],
  });
  const started = () => {
    handlersRun++;
    ran();
  };
  if (handler === "asyncService") {
    server.addService(
      ProjectServiceService,
      asyncService(ProjectServiceService, {
        deleteProject: async () => {
          started();
          return {};
        },
        archiveProject: async (call: { request: ArchiveProjectRequest; write(message: object): boolean }) => {
          started();
          call.write({ projectId: call.request.projectId, percent: 100 });
        },
      } as never),
    );
  } else {
    const atClose = handler === "plain at the close";
    server.addService(ProjectServiceService, {
      deleteProject: (_call: unknown, callback: (error: object | null, response?: object) => void) => {
        started();
        if (atClose) answer = () => callback({ code: status.NOT_FOUND, details: "no such project" });
        else callback(null, {});
      },
      archiveProject: (call: { write(message: object): boolean; end(): void }) => {
        started();
        if (atClose) answer = () => call.end();
        else {
          call.write({ projectId: "p-1", percent: 100 });
          call.end();
        }
      },
    } as never);
  }
  const port = await listenOnLoopback(server);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  cleanup = () => {
    session.destroy();
    server.forceShutdown();
  };
  return { memory, recorder, session, statusDue, handlerRan, handlersRun: () => handlersRun };
}

/** What the client got of a call: response headers, messages, trailers (the status). */
interface ClientSaw {
  headers: number;
  messages: number;
  trailers: number;
}

/**
 * Opens a call of `kind` for project p-1, sends its one request message, then ends its messages (an
 * empty DATA frame with END_STREAM, as `stream.close()` sends it). Returns the stream and what its
 * client gets.
 */
function open(session: http2.ClientHttp2Session, kind: Kind) {
  const request = session.request({
    ":method": "POST",
    ":path": METHOD_OF_KIND[kind],
    "content-type": "application/grpc",
    te: "trailers",
  });
  const saw: ClientSaw = { headers: 0, messages: 0, trailers: 0 };
  request.on("response", () => saw.headers++);
  request.on("data", () => saw.messages++);
  request.on("trailers", () => saw.trailers++);
  request.on("error", () => {});
  const closed = new Promise<void>((resolve) => request.on("close", resolve));
  const message =
    kind === "unary"
      ? DeleteProjectRequest.encode({ id: "p-1" }).finish()
      : ArchiveProjectRequest.encode({ projectId: "p-1" }).finish();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  request.write(frame);
  request.end();
  return { request, saw, closed };
}

/** Resets `request` with `code` and waits until its stream closed. */
async function reset(call: ReturnType<typeof open>, code: number): Promise<void> {
  call.request.close(code);
  await call.closed;
  expect(call.request.rstCode).toBe(code);
}

/** Waits until the call's one record is made; resolves to the events' results. */
async function recorded(s: Awaited<ReturnType<typeof start>>) {
  await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
  await s.recorder.flush();
  expect(s.handlersRun()).toBe(1);
  expect(s.recorder.stats().skipped.counts).toStrictEqual([]);
  return results(s.memory);
}

const results = (memory: ReturnType<typeof createMemoryEmitter>) =>
  memory.events.map((e) => [e.eventType, e.target?.id, e.result?.success, e.result?.code, e.result?.message]);

const eventType = (event: Event) =>
  event === "mutation" ? EventType.EVENT_TYPE_RESOURCE_MUTATION : EventType.EVENT_TYPE_RESOURCE_ACCESS;

describe("a call whose client resets its stream after ending its messages, before the status went out", () => {
  it.each([
    ["unary", "mutation", "asyncService"],
    ["unary", "access", "asyncService"],
    ["server_streaming", "mutation", "asyncService"],
    ["server_streaming", "access", "asyncService"],
    ["unary", "mutation", "plain"],
    ["server_streaming", "access", "plain"],
  ] as const)(
    "%s, %s rule, %s handler answering at once: recorded with the cancel note and the handler's OK",
    async (kind, event, handler) => {
      const s = await start(event, handler);
      const call = open(s.session, kind);
      // The handler answered and its status reached the HTTP/2 stream, not yet the client: reset now.
      await s.statusDue;
      await reset(call, http2.constants.NGHTTP2_CANCEL);
      expect(call.saw.trailers).toBe(0);
      expect(await recorded(s)).toStrictEqual([[eventType(event), "p-1", true, "OK", CANCELLED_OK]]);
    },
  );
});

describe("a call whose handler answers once its stream was reset, before grpc-js reports the cancel", () => {
  const FAILED =
    "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler failed: no such project";
  it.each([
    [
      "unary",
      "mutation",
      "CANCEL",
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "p-1", false, "NOT_FOUND", FAILED],
    ],
    [
      "unary",
      "mutation",
      "NO_ERROR",
      [EventType.EVENT_TYPE_RESOURCE_MUTATION, "p-1", false, "NOT_FOUND", FAILED],
    ],
    [
      "server_streaming",
      "access",
      "CANCEL",
      [EventType.EVENT_TYPE_RESOURCE_ACCESS, "p-1", true, "OK", CANCELLED_OK],
    ],
    [
      "server_streaming",
      "access",
      "NO_ERROR",
      [EventType.EVENT_TYPE_RESOURCE_ACCESS, "p-1", true, "OK", CANCELLED_OK],
    ],
  ] as const)(
    "%s, %s rule, reset with %s: the status grpc-js drops is recorded with the cancel note",
    async (kind, event, code, expected) => {
      const s = await start(event, "plain at the close");
      const call = open(s.session, kind);
      await s.handlerRan;
      await reset(call, http2.constants[`NGHTTP2_${code}`]);
      expect(call.saw).toStrictEqual({ headers: 0, messages: 0, trailers: 0 });
      expect(await recorded(s)).toStrictEqual([expected]);
    },
  );
});
