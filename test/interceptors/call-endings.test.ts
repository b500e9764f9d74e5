// How calls end outside the handler's own status, over real loopback gRPC: cancels and deadlines (the
// handler's listeners still in the call's scope), shutdown, and statuses grpc-js sends itself.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ChannelOptions,
  Client,
  credentials,
  Metadata,
  Server,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ArchiveProgress,
  type ArchiveProjectRequest,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { type AuditScope, currentAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";

const ARCHIVE = "/example.v1.ProjectService/ArchiveProject";
const IMPORT = "/example.v1.ProjectService/ImportMembers";

interface Started {
  server: Server;
  port: number;
  client: ProjectServiceClient;
  /** The scope each handler's "cancelled" listener ran in. */
  cancelledIn: (AuditScope | undefined)[];
  /** Calls whose handler started. */
  started: number;
}

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let running: Started | undefined;

afterEach(async () => {
  memory.clear();
  running?.client.close();
  running?.server.forceShutdown();
  running = undefined;
});

/** ArchiveProject and ImportMembers never answer; they note the scope their "cancelled" listener sees. */
async function start(options: ChannelOptions = {}): Promise<Started> {
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: auditRules }),
    ...options,
  });
  const state = { cancelledIn: [] as (AuditScope | undefined)[], started: 0 };
  const hang = (call: NodeJS.EventEmitter) => {
    state.started++;
    call.on("cancelled", () => state.cancelledIn.push(currentAuditScope()));
    call.on("data", () => {});
  };
  server.addService(ProjectServiceService, {
    archiveProject: (call: ServerWritableStream<ArchiveProjectRequest, ArchiveProgress>) => {
      hang(call);
      call.write({ projectId: call.request.projectId, percent: 10 });
    },
    importMembers: (call: NodeJS.EventEmitter) => hang(call),
  } as never);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const started: Started = {
    server,
    port,
    client,
    cancelledIn: state.cancelledIn,
    get started() {
      return state.started;
    },
  };
  running = started;
  return started;
}

function mutations() {
  return memory.filter({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
}

function statusOf(call: NodeJS.EventEmitter): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {});
    call.on("status", (s: { code: status; details: string }) => resolve(s));
  });
}

describe("the audit scope when a call is cancelled", () => {
  // docs/authn-authz.md: the audit scope interceptor "runs every later step of the call inside it".
  // grpc-js reports a client cancel from the HTTP/2 stream's close, outside any call's context, so a
  // handler's "cancelled" listener (where handlers clean up and may record) saw no scope.
  it("lets the handler's cancelled listener see the call's scope, with its request id", async () => {
    const s = await start();
    const metadata = new Metadata();
    metadata.set("x-request-id", "req-cancel-1");
    const call = s.client.archiveProject({ projectId: "p-9" }, metadata);
    const ended = statusOf(call);
    await expect.poll(() => s.started).toBe(1);
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    await expect.poll(() => s.cancelledIn.length).toBe(1);
    expect(s.cancelledIn[0]?.requestId).toBe("req-cancel-1");
    expect(mutations().map((e) => [e.requestId, e.result?.code])).toStrictEqual([
      ["req-cancel-1", "CANCELLED"],
    ]);
  });

  it("lets it see the scope when the deadline ends the call, too", async () => {
    const s = await start();
    const metadata = new Metadata();
    metadata.set("x-request-id", "req-deadline-1");
    const call = s.client.archiveProject({ projectId: "p-9" }, metadata, { deadline: Date.now() + 300 });
    expect((await statusOf(call)).code).toBe(status.DEADLINE_EXCEEDED);
    await expect.poll(() => s.cancelledIn.length).toBe(1);
    expect(s.cancelledIn[0]?.requestId).toBe("req-deadline-1");
  });
});

describe("server shutdown mid-call", () => {
  it("records a streaming call cut by forceShutdown exactly once", async () => {
    const s = await start();
    const call = s.client.archiveProject({ projectId: "p-3" }, new Metadata());
    const ended = statusOf(call);
    await expect.poll(() => s.started).toBe(1);
    s.server.forceShutdown();
    expect((await ended).code).not.toBe(status.OK);
    await sleep(100);
    expect(mutations().map((e) => [e.operation, e.target?.id, e.result?.code])).toStrictEqual([
      [ARCHIVE, "p-3", "CANCELLED"],
    ]);
  });
});

describe("a call grpc-js itself ends for a message it cannot decode, take or send", () => {
  // The handler started at the metadata, so the call is recorded; grpc-js sends its status past every
  // interceptor, and the rules interceptor only sees the cancel that follows.
  const raw = (port: number) => new Client(`127.0.0.1:${port}`, credentials.createInsecure());

  it("records the status the client got for an undecodable message, not CANCELLED", async () => {
    const s = await start();
    const client = raw(s.port);
    const call = client.makeClientStreamRequest(
      IMPORT,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      new Metadata(),
      () => {},
    );
    const ended = statusOf(call);
    await expect.poll(() => s.started).toBe(1);
    call.write(Buffer.from([0x0f, 0xff, 0xff])); // field 1 with wire type 7: no such wire type
    const seen = await ended;
    client.close();
    await sleep(100);
    expect(mutations().map((e) => e.result?.code)).toStrictEqual([status[seen.code]]);
  });

  it("records the status the client got for a message over the receive limit, not CANCELLED", async () => {
    const s = await start({ "grpc.max_receive_message_length": 64 });
    const call = s.client.importMembers(new Metadata(), () => {});
    const ended = statusOf(call);
    await expect.poll(() => s.started).toBe(1);
    call.write({ projectId: "p-1", userId: "u".repeat(200), role: "viewer" });
    const seen = await ended;
    expect(seen.code).toBe(status.RESOURCE_EXHAUSTED);
    await sleep(100);
    expect(mutations().map((e) => e.result?.code)).toStrictEqual(["RESOURCE_EXHAUSTED"]);
  });

  it("records the status the client got for a response over the send limit, as an unknown outcome", async () => {
    // ArchiveProject writes a progress message with the project id: more than 16 bytes here.
    const s = await start({ "grpc.max_send_message_length": 16 });
    const call = s.client.archiveProject({ projectId: "p-".padEnd(40, "x") });
    const seen = await statusOf(call);
    expect(seen.code).toBe(status.RESOURCE_EXHAUSTED);
    await sleep(100);
    // A plain grpc-js handler, which nothing reports on: it may have completed its change.
    expect(seen.details).toMatch(/^Sent message larger than max/);
    expect(mutations().map((e) => [e.result?.code, e.result?.success, e.result?.message])).toStrictEqual([
      [
        "RESOURCE_EXHAUSTED",
        false,
        "grpc-js ended the call (RESOURCE_EXHAUSTED); the handler's outcome is unknown: it may have completed the change",
      ],
    ]);
  });
});
