// A call whose answer its client did not take in (review R104), over real loopback gRPC. Two clients
// behave apart, and the server can tell only one of them:
// - a client that leaves the messages of a streaming answer unread holds it back by HTTP/2 flow
//   control: grpc-js sends a status only once every message passed its window (the write callbacks wait for it), so
//   the client's reset comes before that status and the event gets the cancel (or deadline) note.
//   A grpc-js client reads every message into its own memory whether its caller reads or not, so this
//   client is a plain node:http2 one speaking gRPC's framing: the real transport, no grpc-js on its side.
// - a grpc-js client whose caller reads nothing takes the whole answer, status included; its cancel
//   comes after the server's stream closed normally, and the event is the handler's plain OK.
import http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata, Server, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type ArchiveProgress,
  ArchiveProjectRequest,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

/** One response message: 20 of them are more than a client's 64 KiB HTTP/2 window. */
const BIG = "x".repeat(60_000);
const CANCEL_NOTE =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";
const DEADLINE_NOTE = "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK";

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let port: number;
/** Request ids of the calls whose handler saw a write refused (`call.write` returned false). */
const blocked = new Set<string>();

beforeAll(async () => {
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  const some: Partial<Handlers> = {
    // Writes more than the client's window without waiting, then answers OK.
    async archiveProject(call) {
      const requestId = String(call.metadata.get("x-request-id")[0]);
      for (let percent = 0; percent < 20; percent++) {
        if (!call.write({ projectId: BIG, percent })) blocked.add(requestId);
      }
    },
  };
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, some as Handlers));
  port = await listenOnLoopback(server);
});
afterAll(async () => {
  await stopServer(server);
  await recorder.close();
});
beforeEach(() => memory.clear());

/** A gRPC request over a plain HTTP/2 client that never reads its response (flow control holds it). */
function unreadCall(path: string, requestId: string, message: Uint8Array, timeout?: string) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    "x-request-id": requestId,
  };
  if (timeout !== undefined) headers["grpc-timeout"] = timeout;
  const stream = session.request(headers);
  stream.on("error", () => {});
  stream.pause();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.end(frame);
  const response = new Promise<void>((resolve) => stream.once("response", () => resolve()));
  /** Resets the stream as a grpc-js client's cancel and deadline timer do; resolves once closed. */
  const reset = () =>
    new Promise<void>((resolve) => {
      stream.close(http2.constants.NGHTTP2_CANCEL, () => resolve());
    }).finally(() => session.close());
  return { response, reset };
}

/** The result and target id of the call's event. */
async function recorded(requestId: string) {
  const event = await memory.waitFor({ requestId });
  return { result: event.result, target: event.target?.id };
}

describe("a call whose answer is held back by flow control", () => {
  it("records a server-streaming call its client cancels with the cancel note", async () => {
    const path = "/example.v1.ProjectService/ArchiveProject";
    const call = unreadCall(
      path,
      "stuck-cancel",
      ArchiveProjectRequest.encode({ projectId: "p-9" }).finish(),
    );
    await expect.poll(() => blocked.has("stuck-cancel")).toBe(true);
    await call.reset();
    expect(await recorded("stuck-cancel")).toStrictEqual({
      result: { success: true, code: "OK", message: CANCEL_NOTE },
      target: "p-9",
    });
  });

  it("records a server-streaming call reset after its deadline with the deadline note", async () => {
    const path = "/example.v1.ProjectService/ArchiveProject";
    const deadline = Date.now() + 200;
    const request = ArchiveProjectRequest.encode({ projectId: "p-8" }).finish();
    const call = unreadCall(path, "stuck-deadline", request, "200m");
    await expect.poll(() => blocked.has("stuck-deadline")).toBe(true);
    // The reset a grpc-js client's deadline timer sends, once the deadline has passed.
    await sleep(Math.max(0, deadline - Date.now()) + 20);
    await call.reset();
    expect(await recorded("stuck-deadline")).toStrictEqual({
      result: { success: true, code: "OK", message: DEADLINE_NOTE },
      target: "p-8",
    });
  });
});

describe("a grpc-js client that does not read the messages", () => {
  it("has the whole answer before it cancels: the event is the handler's OK", async () => {
    const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set("x-request-id", "unread-grpc-js");
    const call = client.archiveProject({ projectId: "p-6" }, metadata);
    const code = new Promise<number>((resolve) => call.on("error", (e: { code: number }) => resolve(e.code)));
    // Recorded at the status, which grpc-js sends once every message passed the client's window: the
    // client's cancel after that changes nothing on the server.
    const event = await recorded("unread-grpc-js");
    call.cancel();
    expect({ event, client: await code }).toStrictEqual({
      event: { result: { success: true, code: "OK", message: "" }, target: "p-6" },
      client: status.CANCELLED,
    });
    client.close();
  });

  it("records a call whose messages were read OK, with no note", async () => {
    const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set("x-request-id", "read-grpc-js");
    const call = client.archiveProject({ projectId: "p-5" }, metadata);
    const messages: ArchiveProgress[] = [];
    call.on("data", (message: ArchiveProgress) => messages.push(message));
    const code = await new Promise<number>((resolve) => call.on("status", (s) => resolve(s.code)));
    expect({ code, messages: messages.length, event: await recorded("read-grpc-js") }).toStrictEqual({
      code: status.OK,
      messages: 20,
      event: { result: { success: true, code: "OK", message: "" }, target: "p-5" },
    });
    client.close();
  });
});
