// A streaming asyncService handler that awaits `call.write`'s callback, when grpc-js refuses the message
// itself (larger than the server's grpc.max_send_message_length, or one its serializer throws on), over
// real loopback gRPC: grpc-js sends its own status and never calls that write back, so the write must
// fail once the call's stream closes, the handler settle, and the event be recorded then, not after
// handlerSettleTimeoutMs with "the handler had not finished".
import { credentials, type Metadata, Server, type ServerWritableStream, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ArchiveProgress,
  type ArchiveProjectRequest,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const MAX_SEND = 1024;
// Long enough that the event of a handler left hanging comes with the timeout's note, not this test's.
const SETTLE_TIMEOUT_MS = 3000;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let client: ProjectServiceClient;
/** What each call's write callbacks got, by request id: the error code, or "written". */
const writes = new Map<string, string[]>();
/** Errors passed to onInternalError. */
const internalErrors: unknown[] = [];

const requestIdOf = (call: { metadata: Metadata }) => String(call.metadata.get("x-request-id")[0]);

/** Writes `message`; resolves once grpc-js called back, noting what the callback got. */
function write<T>(
  call: { write(message: T, callback: (error?: Error | null) => void): unknown },
  message: T,
  log: string[],
) {
  return new Promise<void>((resolve, reject) =>
    call.write(message, (error) => {
      log.push(error ? String((error as { code?: unknown }).code) : "written");
      if (error) reject(error);
      else resolve();
    }),
  );
}

const big = (projectId: string): ArchiveProgress => ({
  projectId: projectId + "x".repeat(2 * MAX_SEND),
  percent: 1,
});

beforeAll(async () => {
  server = new Server({
    interceptors: createAuditInterceptors({
      recorder,
      rules: auditRules,
      handlerSettleTimeoutMs: SETTLE_TIMEOUT_MS,
    }),
    "grpc.max_send_message_length": MAX_SEND,
  });
  const some: Partial<Handlers> = {
    // "one": a message grpc-js refuses, awaited. "queued": a small one written behind it, both awaited.
    async archiveProject(call: ServerWritableStream<ArchiveProjectRequest, ArchiveProgress>) {
      const log: string[] = [];
      writes.set(requestIdOf(call), log);
      const { projectId } = call.request;
      await write(call, { projectId, percent: 0 }, log);
      if (projectId === "after-cancel") {
        // Node itself fails a write made once grpc-js destroyed the call's stream.
        if (!call.cancelled) await new Promise((resolve) => call.once("cancelled", resolve));
        await write(call, { projectId, percent: 100 }, log);
      } else if (projectId === "queued") {
        await Promise.all([write(call, big(projectId), log), write(call, { projectId, percent: 100 }, log)]);
      } else {
        await write(call, big(projectId), log);
      }
    },
    // A result grpc-js's serializer throws on (a uint64 of 1.5), awaited.
    async syncMembers(call) {
      const log: string[] = [];
      writes.set(requestIdOf(call), log);
      for await (const change of call) {
        await write(call, { memberId: change.member?.memberId ?? 0, applied: true }, log);
        await write(call, { memberId: 1.5, applied: true }, log);
      }
    },
  };
  server.addService(
    ProjectServiceService,
    asyncService(ProjectServiceService, some as Handlers, {
      onInternalError: (error) => internalErrors.push(error),
    }),
  );
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  server.forceShutdown();
  await recorder.close();
});

afterEach(() => {
  memory.clear();
  internalErrors.length = 0;
});

/** Resolves to the status the client got, reading every message. */
function statusOf(call: NodeJS.EventEmitter): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {});
    call.on("status", (end: { code: status; details: string }) => resolve(end));
  });
}

/** The call's one event (a second would fail the poll's count). */
async function eventOf(requestId: string): Promise<AuditEvent | undefined> {
  await expect
    .poll(() => memory.events.filter((e) => e.requestId === requestId).length, {
      timeout: 2 * SETTLE_TIMEOUT_MS,
    })
    .toBe(1);
  return memory.events.find((e) => e.requestId === requestId);
}

const brief = (e: AuditEvent | undefined) => [e?.operation, e?.target?.id, e?.result];

const STOPPED =
  "the handler stopped when the call's stream was cut off under it: it may have completed the change";

describe("a write grpc-js refuses, awaited by an asyncService handler", () => {
  it("fails once grpc-js ended the call with RESOURCE_EXHAUSTED, and the event says the handler stopped", async () => {
    const end = await statusOf(client.archiveProject({ projectId: "one" }, requestIdMetadata("too-big")));
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(brief(await eventOf("too-big"))).toStrictEqual([
      "/example.v1.ProjectService/ArchiveProject",
      "one",
      {
        success: false,
        code: "RESOURCE_EXHAUSTED",
        message: `grpc-js ended the call (RESOURCE_EXHAUSTED); ${STOPPED}`,
      },
    ]);
    expect(writes.get("too-big")).toStrictEqual(["written", "ERR_STREAM_DESTROYED"]);
    expect(internalErrors).toStrictEqual([]);
  });

  it("fails the write queued behind it too", async () => {
    const end = await statusOf(client.archiveProject({ projectId: "queued" }, requestIdMetadata("queued")));
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(brief(await eventOf("queued"))).toStrictEqual([
      "/example.v1.ProjectService/ArchiveProject",
      "queued",
      {
        success: false,
        code: "RESOURCE_EXHAUSTED",
        message: `grpc-js ended the call (RESOURCE_EXHAUSTED); ${STOPPED}`,
      },
    ]);
    expect(writes.get("queued")).toStrictEqual(["written", "ERR_STREAM_DESTROYED", "ERR_STREAM_DESTROYED"]);
    expect(internalErrors).toStrictEqual([]);
  });

  it("fails in a bidi call once grpc-js could not serialize the message and ended the call with INTERNAL", async () => {
    const call = client.syncMembers(requestIdMetadata("unencodable"));
    const ended = statusOf(call);
    call.write({ member: { memberId: 7, projectId: "p-1", userId: "u-7", role: "viewer" } });
    const end = await ended;
    call.end();
    expect(end.code).toBe(status.INTERNAL);
    expect(brief(await eventOf("unencodable"))).toStrictEqual([
      "/example.v1.ProjectService/SyncMembers",
      "7",
      { success: false, code: "INTERNAL", message: `grpc-js ended the call (INTERNAL); ${STOPPED}` },
    ]);
    expect(writes.get("unencodable")).toStrictEqual(["written", "ERR_STREAM_DESTROYED"]);
    expect(internalErrors).toStrictEqual([]);
  });

  it("takes a write failed after a cancel for the cut-off stream it is, not a handler bug", async () => {
    const call = client.archiveProject({ projectId: "after-cancel" }, requestIdMetadata("after-cancel"));
    const ended = statusOf(call);
    call.once("data", () => call.cancel());
    expect((await ended).code).toBe(status.CANCELLED);
    expect(brief(await eventOf("after-cancel"))).toStrictEqual([
      "/example.v1.ProjectService/ArchiveProject",
      "after-cancel",
      {
        success: false,
        code: "CANCELLED",
        message: `the call was cancelled (CANCELLED): by the client or a server shutdown; ${STOPPED}`,
      },
    ]);
    expect(writes.get("after-cancel")).toStrictEqual(["written", "ERR_STREAM_DESTROYED"]);
    expect(internalErrors).toStrictEqual([]);
  });
});
