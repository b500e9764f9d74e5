// A client that opens no HTTP/2 flow-control window holds a finished call's answer, and with it its
// status, at the server: the call is recorded at its status, so its event waits while the connection
// lives. docs/operations.md advises grpc-js's max connection age: once its grace passes, grpc-js closes
// the connection and the call is recorded (with the cancel note on Node 20). A grpc-js client always
// opens a window, so the client is a plain node:http2 one speaking gRPC's framing (the real transport).
import http2 from "node:http2";
import { Server } from "@grpc/grpc-js";
import { afterEach, expect, it } from "vitest";
import { DeleteProjectRequest, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const CANCEL_NOTE =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";

let server: Server | undefined;
let recorder: Recorder | undefined;
let session: http2.ClientHttp2Session | undefined;
afterEach(async () => {
  session?.destroy();
  if (server !== undefined) await stopServer(server);
  await recorder?.close();
});

/** A server with the audit chain whose DeleteProject handler answers at once; resolves to its port. */
async function start(options: Record<string, number>) {
  const memory = createMemoryEmitter();
  recorder = createRecorder({ service: "projects", emitters: [memory] });
  server = new Server({ ...options, interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  const handled: string[] = [];
  const some: Partial<Handlers> = {
    async deleteProject(call) {
      handled.push(call.request.id);
      return {};
    },
  };
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, some as Handlers));
  return { port: await listenOnLoopback(server), memory, handled, recorder };
}

/** Sends DeleteProject from a client whose window is 0: the answer can never reach it. */
function deleteWithoutWindow(port: number, id: string): void {
  session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": "/example.v1.ProjectService/DeleteProject",
    "content-type": "application/grpc",
    te: "trailers",
    "x-request-id": id,
  });
  stream.on("error", () => {});
  const message = DeleteProjectRequest.encode({ id }).finish();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.end(frame);
}

it("holds the event of a change made while the connection of a client without a window lives", async () => {
  const { port, memory, handled, recorder } = await start({});
  deleteWithoutWindow(port, "p-held");
  await expect.poll(() => handled).toStrictEqual(["p-held"]);
  // The handler is done; its answer and status wait for a window that never opens.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(memory.events.filter((e) => e.detail?.$case === "resourceMutation")).toStrictEqual([]);
  expect(recorder.stats().pendingRecords).toBe(1);
});

it("records it once grpc-js closes the connection past its max age and grace", async () => {
  const { port, memory, handled } = await start({
    "grpc.max_connection_age_ms": 500,
    "grpc.max_connection_age_grace_ms": 300,
  });
  deleteWithoutWindow(port, "p-aged");
  await expect.poll(() => handled).toStrictEqual(["p-aged"]);
  const event = await memory.waitFor({ requestId: "p-aged" });
  // The stream is reset with the answer unsent: the cancel note (the record waits for the stream's close).
  expect([event.detail?.$case, event.target?.id, event.result]).toStrictEqual([
    "resourceMutation",
    "p-aged",
    { success: true, code: "OK", message: CANCEL_NOTE },
  ]);
});
