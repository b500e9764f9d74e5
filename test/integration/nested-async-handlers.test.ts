// An asyncService handler that delegates to another asyncService-adapted handler (a service wrapping
// another's implementation), over real loopback gRPC: both report into the call's scope, and a call
// whose client has gone must be recorded with what the outermost handler did, once it settled.
import { credentials, type handleUnaryCall, type Metadata, Server, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { cancelWhen } from "./cancel-when.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let client: ProjectServiceClient;
/** Request ids of the calls the client may cancel now. */
const ready = new Set<string>();
/** Request ids of the calls whose innermost handler applied its change. */
const applied = new Set<string>();

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
});
