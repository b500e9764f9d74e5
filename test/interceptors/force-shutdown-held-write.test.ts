// A call whose answer HTTP/2 flow control holds back when `server.forceShutdown()` runs: grpc-js resets
// its stream, and the client sees CANCEL. Node 24 then calls the held-back write back with an error
// (Node 20 does not), and grpc-js "sends" INTERNAL on the reset stream, where it goes nowhere: the call
// must still be recorded as cancelled, with the cancel note, as docs/operations.md says of forceShutdown.
// A grpc-js client always opens a window, so the client is a plain node:http2 one that opens none,
// speaking gRPC's framing (the real transport). No SQLite store: better-sqlite3 here is built for Node
// 20 only, and this test must also run on Node 24.
import http2 from "node:http2";
import { Server } from "@grpc/grpc-js";
import { afterEach, expect, it } from "vitest";
import {
  ArchiveProjectRequest,
  CreateProjectRequest,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const CANCELLED = "the call was cancelled (CANCELLED): by the client or a server shutdown";
const TIME = "2026-01-02T03:04:05.678Z";
const EVENT_ID = "019b7ca9-8f2e-7000-8000-000000000004";

let server: Server | undefined;
let recorder: Recorder | undefined;
let session: http2.ClientHttp2Session | undefined;
afterEach(async () => {
  session?.destroy();
  server?.forceShutdown();
  await recorder?.close();
});

/**
 * A server with the audit chain whose CreateProject answers at once and whose ArchiveProject writes
 * progress messages, each once the last one's write called back. For a client that opens no window,
 * HTTP/2 flow control holds back any message.
 */
async function start() {
  const memory = createMemoryEmitter();
  recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(TIME),
    newEventId: () => EVENT_ID,
  });
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  const writing: string[] = [];
  const some: Partial<Handlers> = {
    async createProject(call) {
      writing.push(call.request.name);
      return { id: "p-big", name: call.request.name, ownerId: "" };
    },
    async archiveProject(call) {
      for (let percent = 0; percent < 50; percent++) {
        writing.push(`${call.request.projectId} ${percent}`);
        await new Promise<void>((resolve, reject) =>
          call.write({ projectId: call.request.projectId, percent }, (error?: unknown) =>
            error ? reject(error) : resolve(),
          ),
        );
      }
    },
  };
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, some as Handlers));
  return { port: await listenOnLoopback(server), memory, writing };
}

/**
 * Sends one request from a client whose window is 0: no answer can ever reach it. Resolves once the
 * response headers arrived: grpc-js sends them with the first message, in the same step, and HTTP/2 flow
 * control holds back only the message, so that write is then under way and held back.
 */
function callWithoutWindow(port: number, method: string, id: string, message: Uint8Array): Promise<void> {
  session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": `/example.v1.ProjectService/${method}`,
    "content-type": "application/grpc",
    te: "trailers",
    "x-request-id": id,
  });
  stream.on("error", () => {});
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.end(frame);
  return new Promise((resolve) => stream.once("response", () => resolve()));
}

/** `event` without what differs from run to run (the client's port, the call's duration, the hash chain). */
function stable(event: AuditEvent) {
  const { peer, duration, chain, ...rest } = event;
  expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
  expect([duration === undefined, chain?.seq]).toStrictEqual([false, 1]);
  return rest;
}

/** The fields every event of these calls shares. */
const COMMON = {
  eventId: EVENT_ID,
  schemaVersion: 2,
  occurredAt: new Date(TIME),
  service: "projects",
  actor: {
    id: "anonymous",
    type: "ACTOR_TYPE_ANONYMOUS",
    displayName: "",
    email: "",
    subject: "",
    clientId: "",
    realm: "",
  },
  traceId: "",
  spanId: "",
  userAgent: "",
  attributes: {},
  instance: "",
  payload: undefined,
};

it("records a unary call whose answer is held back as cancelled when the server is force-shut down", async () => {
  const { port, memory, writing } = await start();
  const request = CreateProjectRequest.encode({ name: "big" }).finish();
  await callWithoutWindow(port, "CreateProject", "force-unary", request);
  expect(writing).toStrictEqual(["big"]);
  server?.forceShutdown();
  const event = await memory.waitFor({ requestId: "force-unary" });
  expect(stable(event)).toStrictEqual({
    ...COMMON,
    eventType: "EVENT_TYPE_RESOURCE_MUTATION",
    operation: "/example.v1.ProjectService/CreateProject",
    target: { type: "project", id: "p-big", name: "" },
    result: { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    requestId: "force-unary",
    detail: {
      $case: "resourceMutation",
      value: { mutation: "MUTATION_TYPE_CREATE", resourceType: "project", resourceId: "p-big" },
    },
  });
});

it("records a server-streaming call whose write is held back as cancelled when the server is force-shut down", async () => {
  const { port, memory, writing } = await start();
  const request = ArchiveProjectRequest.encode({ projectId: "p1" }).finish();
  await callWithoutWindow(port, "ArchiveProject", "force-stream", request);
  // The first write never calls back while the connection lives: the client's window stays 0.
  expect(writing).toStrictEqual(["p1 0"]);
  server?.forceShutdown();
  const event = await memory.waitFor({ requestId: "force-stream" });
  expect(stable(event)).toStrictEqual({
    ...COMMON,
    eventType: "EVENT_TYPE_RESOURCE_MUTATION",
    operation: "/example.v1.ProjectService/ArchiveProject",
    target: { type: "project", id: "p1", name: "" },
    result: {
      success: false,
      code: "CANCELLED",
      message: `${CANCELLED}; the handler stopped when the call's stream was cut off under it: it may have completed the change`,
    },
    requestId: "force-stream",
    detail: {
      $case: "resourceMutation",
      value: { mutation: "MUTATION_TYPE_UPDATE", resourceType: "project", resourceId: "p1" },
    },
  });
});
