// An asyncService handler that delegates to another asyncService-adapted handler (a service wrapping
// another's implementation), over real loopback gRPC: both report into the call's scope, and a call
// whose client has gone must be recorded with what the outermost handler did, once every one settled.
import { setImmediate as afterThisTurn } from "node:timers/promises";
import {
  credentials,
  type handleUnaryCall,
  Metadata,
  Server,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { cancelArchiveWhen, cancelWhen } from "./cancel-when.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let client: ProjectServiceClient;
/** Request ids of the calls the client may cancel now. */
const ready = new Set<string>();
/** Request ids of the calls whose innermost handler applied its change. */
const applied = new Set<string>();
/** Request ids of the calls whose inner handler failed after the outer one had answered. */
const failedLater = new Set<string>();

const requestIdOf = (call: { metadata: Metadata }) => String(call.metadata.get("x-request-id")[0]);
const cancelled = (call: NodeJS.EventEmitter) =>
  new Promise<void>((resolve) => call.once("cancelled", () => resolve()));

/** Runs an adapted (grpc-js) unary handler on the outer handler's call, as a promise. */
function delegate<Req, Res>(handler: unknown, call: Parameters<handleUnaryCall<Req, Res>>[0]): Promise<Res> {
  return new Promise((resolve, reject) =>
    (handler as handleUnaryCall<Req, Res>)(call, (error, response) =>
      error ? reject(error) : resolve(response as Res),
    ),
  );
}

beforeAll(async () => {
  // The innermost service: applies changes, or fails.
  const inner = asyncService(ProjectServiceService, {
    async updateProject(call) {
      applied.add(requestIdOf(call));
      return call.request.project;
    },
    async deleteProject() {
      throw { code: status.NOT_FOUND, details: "no such project" };
    },
    async removeMember(call) {
      applied.add(requestIdOf(call));
      return {};
    },
    // Fails once the handler that started it without waiting for it has answered (that one's
    // settlement runs in this turn of the event loop, before the next).
    async createProject(call) {
      await afterThisTurn();
      failedLater.add(requestIdOf(call));
      throw { code: status.ABORTED, details: "quota changed meanwhile" };
    },
  } as Partial<Handlers> as Handlers);
  // A second layer between the outer service and the inner one.
  const middle = asyncService(ProjectServiceService, {
    async removeMember(call) {
      return delegate(inner.removeMember, call);
    },
  } as Partial<Handlers> as Handlers);
  const outer: Partial<Handlers> = {
    // Delegates the change once the client has gone.
    async updateProject(call) {
      ready.add(requestIdOf(call));
      await cancelled(call);
      return delegate(inner.updateProject, call);
    },
    // The inner handler fails; this one handles it and finishes OK after the cancel.
    async deleteProject(call) {
      try {
        await delegate(inner.deleteProject, call);
      } catch {
        // Already gone: nothing to delete.
      }
      ready.add(requestIdOf(call));
      await cancelled(call);
      return {};
    },
    // Two layers finish OK after the cancel, then this one fails.
    async removeMember(call) {
      ready.add(requestIdOf(call));
      await cancelled(call);
      await delegate(middle.removeMember, call);
      throw { code: status.FAILED_PRECONDITION, details: "member list locked" };
    },
    // Start an inner handler after the cancel without waiting for it, and answer OK; the inner fails later.
    async getProject(call) {
      ready.add(requestIdOf(call));
      await cancelled(call);
      delegate(inner.createProject, call).catch(() => undefined);
      return { id: call.request.id, name: "read", ownerId: "" };
    },
    async archiveProject(call) {
      ready.add(requestIdOf(call));
      await cancelled(call);
      delegate(inner.createProject, call).catch(() => undefined);
    },
    // The same from the call's "cancelled" listener, which runs outside this handler's async context.
    async syncMembers(call) {
      await new Promise<void>((resolve) => {
        call.once("data", () => ready.add(requestIdOf(call)));
        call.once("cancelled", () => {
          delegate(inner.createProject, call as never).catch(() => undefined);
          resolve();
        });
      });
    },
  };
  server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: auditRules, handlerSettleTimeoutMs: 2000 }),
  });
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, outer as Handlers));
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
});

/** Calls `method`, cancels it once its handler is ready; resolves to the status code the client got. */
const cancelWhenReady = (method: keyof ProjectServiceClient, request: unknown, requestId: string) =>
  cancelWhen(client, method, request, requestId, (id) => ready.has(id));

/** Calls ArchiveProject, cancels it once its handler is ready; resolves to the status code the client got. */
const cancelArchiveWhenReady = (projectId: string, requestId: string) =>
  cancelArchiveWhen(client, projectId, requestId, (id) => ready.has(id));

/** Calls SyncMembers with one change, cancels it once its handler is ready; resolves to the client's status code. */
function cancelSyncWhenReady(memberId: number, requestId: string): Promise<number> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  const call = client.syncMembers(metadata);
  call.on("data", () => undefined);
  const code = new Promise<number>((resolve) =>
    call.on("error", (error: ServiceError) => resolve(error.code)),
  );
  call.write({ member: { memberId, projectId: "p-5", userId: "u-1", role: "editor" } });
  void expect
    .poll(() => ready.has(requestId))
    .toBe(true)
    .then(() => call.cancel());
  return code;
}

/** The call's one event, with its target and result. The wait outlasts the settle timeout (2 s). */
async function eventOf(requestId: string) {
  const events = () => memory.events.filter((e: AuditEvent) => e.requestId === requestId);
  await expect.poll(() => events().length, { timeout: 4000 }).toBe(1);
  const [event] = events();
  return [event?.target?.id, event?.result];
}

const CANCELLED = "the call was cancelled (CANCELLED): by the client or a server shutdown";

describe("an asyncService handler that delegates to another", () => {
  it("records the change an inner handler applied after the cancel as finished OK", async () => {
    const code = await cancelWhenReady(
      "updateProject",
      { project: { id: "p-1", name: "renamed", ownerId: "" } },
      "delegated",
    );
    expect(code).toBe(status.CANCELLED);
    expect(await eventOf("delegated")).toStrictEqual([
      "p-1",
      { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    ]);
    expect(applied.has("delegated")).toBe(true);
  });

  it("records the outer handler's OK, not the failure of an inner one it caught", async () => {
    expect(await cancelWhenReady("deleteProject", { id: "p-2" }, "caught")).toBe(status.CANCELLED);
    expect(await eventOf("caught")).toStrictEqual([
      "p-2",
      { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    ]);
  });

  it("waits through two layers, and records the outermost handler's failure", async () => {
    expect(await cancelWhenReady("removeMember", { memberId: 7 }, "two-layers")).toBe(status.CANCELLED);
    expect(await eventOf("two-layers")).toStrictEqual([
      "7",
      {
        success: false,
        code: "FAILED_PRECONDITION",
        message: `${CANCELLED}; the handler failed: member list locked`,
      },
    ]);
    expect(applied.has("two-layers")).toBe(true);
  });

  it("records the OK of an outer handler that left an inner one running, which failed after it", async () => {
    expect(await cancelArchiveWhenReady("p-3", "left-running")).toBe(status.CANCELLED);
    expect(await eventOf("left-running")).toStrictEqual([
      "p-3",
      { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    ]);
    expect(failedLater.has("left-running")).toBe(true);
  });

  it("records the read of a unary outer handler whose unawaited inner one failed after it", async () => {
    expect(await cancelWhenReady("getProject", { id: "p-4" }, "left-running-read")).toBe(status.CANCELLED);
    expect(await eventOf("left-running-read")).toStrictEqual([
      "p-4",
      { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    ]);
    expect(failedLater.has("left-running-read")).toBe(true);
  });

  it("records the outer handler's OK when a listener of its call started the inner one", async () => {
    expect(await cancelSyncWhenReady(9, "from-listener")).toBe(status.CANCELLED);
    expect(await eventOf("from-listener")).toStrictEqual([
      "9",
      { success: true, code: "OK", message: `${CANCELLED}; the handler finished OK` },
    ]);
    expect(failedLater.has("from-listener")).toBe(true);
  });
});
