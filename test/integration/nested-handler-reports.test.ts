// What asyncService reports of a call whose handler starts other asyncService-adapted handlers on it,
// over real loopback gRPC: one start and one settlement per call, with the outcome of the handler
// grpc-js called (the client got its answer), sent once every handler it started has settled; and every
// rules interceptor on the call records that outcome.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setImmediate as afterThisTurn } from "node:timers/promises";
import {
  credentials,
  type handleUnaryCall,
  Metadata,
  Server,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRulesInterceptor } from "../../src/interceptors/rules-interceptor.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { HANDLER_SETTLED_CHANNEL, HANDLER_STARTED_CHANNEL } from "../../src/server/handler-channels.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { cancelArchiveWhen } from "./cancel-when.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

/** What asyncService published on its channels, in order: "started", or a settlement's code and details. */
let reports: unknown[] = [];
const onStarted = () => reports.push("started");
const onSettled = (message: unknown) => {
  const { code, details } = message as { code: number; details: string };
  reports.push({ code, details });
};
/** Request ids of the calls whose inner handler has run to its end. */
const innerDone = new Set<string>();
/** Request ids of the calls the client may cancel now. */
const ready = new Set<string>();

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

const inner = asyncService(ProjectServiceService, {
  // Fails in a later turn of the event loop than the one it started in: after a handler that started
  // it without waiting for it has answered (and reported, in that turn).
  async createProject(call) {
    await afterThisTurn();
    innerDone.add(requestIdOf(call));
    throw { code: status.RESOURCE_EXHAUSTED, details: "quota changed meanwhile" };
  },
  async deleteProject(call) {
    innerDone.add(requestIdOf(call));
    throw { code: status.NOT_FOUND, details: "no such project" };
  },
} as Partial<Handlers> as Handlers);

const outer: Partial<Handlers> = {
  // Leaves the inner handler running, and answers OK.
  async getProject(call) {
    delegate(inner.createProject, call).catch(() => undefined);
    return { id: call.request.id, name: "read", ownerId: "" };
  },
  // Awaits the inner handler's failure and fails with a status of its own.
  async deleteProject(call) {
    try {
      await delegate(inner.deleteProject, call);
    } catch {
      throw { code: status.ABORTED, details: "could not delete" };
    }
    return {};
  },
  // Awaits the inner handler's failure, handles it, and answers OK.
  async updateProject(call) {
    await delegate(inner.deleteProject, call).catch(() => undefined);
    return { id: call.request.project?.id ?? "", name: "renamed", ownerId: "" };
  },
  // The same, giving the inner handler a call object of its own (the outer's, wrapped).
  async addMember(call) {
    delegate(inner.createProject, Object.create(call)).catch(() => undefined);
    return { memberId: 6, projectId: call.request.projectId, userId: call.request.userId, role: "" };
  },
  // Starts an inner handler only once its own call was reported (in a later turn).
  async removeMember(call) {
    setImmediate(() => delegate(inner.deleteProject, call).catch(() => undefined));
    return {};
  },
};

const first = createMemoryEmitter();
const second = createMemoryEmitter();
const firstRecorder = createRecorder({ service: "projects", emitters: [first] });
const secondRecorder = createRecorder({ service: "projects", emitters: [second] });
let server: Server;
let client: ProjectServiceClient;

beforeAll(async () => {
  subscribe(HANDLER_STARTED_CHANNEL, onStarted);
  subscribe(HANDLER_SETTLED_CHANNEL, onSettled);
  const handlers: Partial<Handlers> = {
    ...outer,
    // Once the client has gone, leaves the inner handler running and answers OK.
    async archiveProject(call) {
      ready.add(requestIdOf(call));
      await cancelled(call);
      delegate(inner.createProject, call as never).catch(() => undefined);
    },
  };
  // Two rules interceptors on one call: the audit chain's, and one more after it.
  server = new Server({
    interceptors: [
      ...createAuditInterceptors({
        recorder: firstRecorder,
        rules: auditRules,
        handlerSettleTimeoutMs: 2000,
      }),
      createRulesInterceptor({ recorder: secondRecorder, rules: auditRules, handlerSettleTimeoutMs: 2000 }),
    ],
  });
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, handlers as Handlers));
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  unsubscribe(HANDLER_STARTED_CHANNEL, onStarted);
  unsubscribe(HANDLER_SETTLED_CHANNEL, onSettled);
  client.close();
  server.forceShutdown();
  await Promise.all([firstRecorder.close(), secondRecorder.close()]);
});

beforeEach(() => {
  reports = [];
});

/** Calls `method` with `requestId`; resolves to the status code the client got once the inner handler ended. */
async function callThrough(method: keyof ProjectServiceClient, request: unknown, requestId: string) {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  const code = await new Promise<number | undefined>((resolve) =>
    (client[method] as (...args: unknown[]) => unknown)(request, metadata, (error: ServiceError | null) =>
      resolve(error?.code),
    ),
  );
  await expect.poll(() => innerDone.has(requestId)).toBe(true);
  // Its settlement is reported in the turn it ended in.
  await afterThisTurn();
  return code;
}

const OK = { code: status.OK, details: "" };
const NOT_FOUND = { code: status.NOT_FOUND, details: "no such project" };

describe("asyncService's report of a call with nested handlers", () => {
  it("reports the OK of the outer handler, once the inner one it left running has failed", async () => {
    expect(await callThrough("getProject", { id: "p-1" }, "left-running")).toBeUndefined();
    expect(reports).toStrictEqual(["started", OK]);
  });

  it("counts an inner handler given another call object, started in the outer one's async context", async () => {
    const request = { projectId: "p-6", userId: "u-6", role: "viewer" };
    expect(await callThrough("addMember", request, "wrapped-call")).toBeUndefined();
    expect(reports).toStrictEqual(["started", OK]);
  });

  it("reports the outer handler's own failure over that of the inner one it awaited", async () => {
    expect(await callThrough("deleteProject", { id: "p-2" }, "rethrown")).toBe(status.ABORTED);
    expect(reports).toStrictEqual(["started", { code: status.ABORTED, details: "could not delete" }]);
  });

  it("reports the outer handler's OK when it handled the inner one's failure", async () => {
    const request = { project: { id: "p-3", name: "renamed", ownerId: "" } };
    expect(await callThrough("updateProject", request, "caught")).toBeUndefined();
    expect(reports).toStrictEqual(["started", OK]);
  });

  it("reports each direct call of an adapted handler given a call object used before", async () => {
    // Such as a test's fixture or a stored call: its earlier, reported call is not joined.
    const call = { metadata: new Metadata(), request: { id: "p-7" } } as never;
    for (const _ of [1, 2]) await delegate(inner.deleteProject, call).catch(() => undefined);
    expect(reports).toStrictEqual(["started", NOT_FOUND, "started", NOT_FOUND]);
  });

  it("reports a handler started on the call after it was reported on its own, after the call's OK", async () => {
    expect(await callThrough("removeMember", { memberId: 4 }, "too-late")).toBeUndefined();
    expect(reports).toStrictEqual(["started", OK, "started", NOT_FOUND]);
  });
});

/** Calls ArchiveProject, cancels it once its handler is ready; resolves to the status code the client got. */
const cancelArchiveWhenReady = (projectId: string, requestId: string) =>
  cancelArchiveWhen(client, projectId, requestId, (id) => ready.has(id));

/** The events of the call `requestId` each recorder emitted, once both have one: target and result. */
async function eventsOf(requestId: string) {
  const of = (memory: typeof first) => memory.events.filter((e: AuditEvent) => e.requestId === requestId);
  await expect.poll(() => [of(first).length, of(second).length], { timeout: 4000 }).toStrictEqual([1, 1]);
  return [...of(first), ...of(second)].map((event) => [event.target?.id, event.result]);
}

const FINISHED_OK = {
  success: true,
  code: "OK",
  message: "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
};

describe("every rules interceptor of a cancelled call", () => {
  it("records the outer handler's OK, not the later failure of an inner one it left running", async () => {
    expect(await cancelArchiveWhenReady("p-5", "two-waiters")).toBe(status.CANCELLED);
    expect(await eventsOf("two-waiters")).toStrictEqual([
      ["p-5", FINISHED_OK],
      ["p-5", FINISHED_OK],
    ]);
    expect(innerDone.has("two-waiters")).toBe(true);
  });
});
