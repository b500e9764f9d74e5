// recorder.close() after a server shutdown, over real loopback gRPC: the records of calls still in flight
// (a handler grpc-js let run on after a deadline, the cancels a forceShutdown reports after it returned,
// an authenticator or authz check still answering) are written before close() resolves, up to
// `closeWaitMs`; a record later than that is dropped and counted.
import {
  credentials,
  Metadata,
  Server,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { Authorizer, Decision } from "../../src/authz/authorizer.js";
import {
  type AddMemberRequest,
  type Member,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { MAX_TIMER_MS } from "../../src/errors/option-checks.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import {
  type AuditInterceptorsOptions,
  createAuditInterceptors,
} from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type Recorder, type RecorderOptions } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { HELD_DEADLINE_MS, holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

/** A promise and its resolve, for steps the test releases. */
function gate<T = void>() {
  let open: (value: T) => void = () => {};
  const opened = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

interface Started {
  server: Server;
  client: ProjectServiceClient;
  recorder: Recorder;
  memory: ReturnType<typeof createMemoryEmitter>;
}

const running: Started[] = [];
/** Request ids of the calls whose handler started. */
const started = new Set<string>();
const requestIdOf = (call: { metadata: Metadata }) => String(call.metadata.get("x-request-id")[0]);
afterEach(async () => {
  started.clear();
  for (const { server, client } of running.splice(0)) {
    client.close();
    server.forceShutdown();
  }
});

/** UpdateProject (asyncService) runs `update`; AddMember is a plain grpc-js handler that never answers. */
async function start(
  update: Handlers["updateProject"],
  options: {
    recorder?: Partial<RecorderOptions>;
    chain?: Partial<Omit<AuditInterceptorsOptions, "recorder" | "rules">>;
  } = {},
): Promise<Started> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory], ...options.recorder });
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: auditRules, ...options.chain }),
  });
  const updateProject: Handlers["updateProject"] = (call) => {
    started.add(requestIdOf(call));
    return update(call);
  };
  const handlers = asyncService(ProjectServiceService, { updateProject } as Handlers);
  server.addService(ProjectServiceService, {
    ...handlers,
    addMember(call: ServerUnaryCall<AddMemberRequest, Member>, _callback: sendUnaryData<Member>) {
      started.add(requestIdOf(call));
    },
  });
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const serving = { server, client, recorder, memory };
  running.push(serving);
  return serving;
}

const metadataOf = (requestId: string) => {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return metadata;
};
const project = (id: string): Project => ({ id, name: "renamed", ownerId: "" });
const MEMBER: AddMemberRequest = { projectId: "p-1", userId: "u-1", role: "viewer" };
const cancelled = (call: NodeJS.EventEmitter) =>
  new Promise<void>((resolve) => call.once("cancelled", () => resolve()));

/** Kind, request id and result of each event: the parts the close decides about. */
const brief = (events: readonly AuditEvent[]) =>
  events.map((e) => [e.eventType, e.requestId, e.result?.code, e.result?.success, e.result?.message]);

const SHUTDOWN_OK =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";
const SHUTDOWN_UNKNOWN =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler's outcome is unknown: it may have completed the change";

describe("recorder.close() waits for the records of calls in flight", () => {
  it("README order: a change an asyncService handler completes after the deadline and after tryShutdown is recorded before close() resolves", async () => {
    const handlerMayFinish = gate();
    const { server, client, recorder, memory } = await start(async (call) => {
      await cancelled(call);
      await handlerMayFinish.opened;
      return call.request.project as Project;
    });
    // A deadline the server reads as the client's (a server that read the call late recorded a cancel),
    // far enough for a new connection and the call to reach the server on a loaded machine (100 ms was not).
    const clock = holdDeadline();
    let report: Awaited<ReturnType<Recorder["close"]>>;
    try {
      const [error] = await unary(
        client.updateProject.bind(client),
        { project: project("p-1") },
        metadataOf("late"),
        { deadline: clock.deadline },
      );
      clock.passed();
      expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
      await stopServer(server);
      expect(recorder.stats().pendingRecords).toBe(1);
      const closing = recorder.close();
      handlerMayFinish.open();
      report = await closing;
    } finally {
      clock.release();
    }
    expect([report.ok, brief(memory.events)]).toStrictEqual([
      true,
      [
        [
          "EVENT_TYPE_RESOURCE_MUTATION",
          "late",
          "OK",
          true,
          "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK",
        ],
      ],
    ]);
    const stats = recorder.stats();
    expect([stats.pendingRecords, stats.accepted, stats.dropped]).toStrictEqual([0, 1, 0]);
  });

  it("forceShutdown, then close(): every call in flight is recorded exactly once, as cancelled by the client or a shutdown", async () => {
    const { server, client, recorder, memory } = await start(async (call) => {
      await cancelled(call);
      return call.request.project as Project;
    });
    const calls: Promise<[ServiceError | null, unknown]>[] = ["a-1", "a-2", "a-3"].map((id) =>
      unary(client.updateProject.bind(client), { project: project(id) }, metadataOf(id)),
    );
    calls.push(unary(client.addMember.bind(client), MEMBER, metadataOf("plain")));
    await expect.poll(() => started.size).toBe(4);
    // grpc-js reports the cancels of forceShutdown after it returned, so close() starts before them.
    server.forceShutdown();
    const report = await recorder.close();
    const seen = await Promise.all(calls);
    expect(seen.map(([error]) => error?.code)).toStrictEqual(Array(4).fill(status.CANCELLED));
    const byId = [...memory.events].sort((x, y) => x.requestId.localeCompare(y.requestId));
    expect([report.ok, brief(byId)]).toStrictEqual([
      true,
      [
        ["EVENT_TYPE_RESOURCE_MUTATION", "a-1", "OK", true, SHUTDOWN_OK],
        ["EVENT_TYPE_RESOURCE_MUTATION", "a-2", "OK", true, SHUTDOWN_OK],
        ["EVENT_TYPE_RESOURCE_MUTATION", "a-3", "OK", true, SHUTDOWN_OK],
        ["EVENT_TYPE_RESOURCE_MUTATION", "plain", "CANCELLED", false, SHUTDOWN_UNKNOWN],
      ],
    ]);
    expect(recorder.stats().dropped).toBe(0);
  });

  it("resolves without waiting, and leaves no timer, when nothing is in flight", async () => {
    const { server, client, recorder, memory } = await start(
      async (call) => call.request.project as Project,
      {
        recorder: { closeWaitMs: MAX_TIMER_MS },
      },
    );
    await unary(client.updateProject.bind(client), { project: project("p-1") }, metadataOf("done"));
    await stopServer(server);
    await expect.poll(() => recorder.stats().pendingRecords).toBe(0);
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    // With closeWaitMs at the longest timer, a close() that waited would never resolve here.
    await recorder.close();
    expect([timers(), memory.stats()]).toStrictEqual([
      before,
      { name: "memory", emitted: 1, dropped: {}, failed: 0 },
    ]);
  });

  it("waits at most closeWaitMs: a record that comes in time is written, a later one dropped and counted; close() says it gave one up", async () => {
    const handlerMayFinish = gate();
    const errors: string[] = [];
    const { server, client, recorder, memory } = await start(
      async (call) => {
        await cancelled(call);
        await handlerMayFinish.opened;
        return call.request.project as Project;
      },
      {
        recorder: { closeWaitMs: 1000, onError: (error) => errors.push(error.message) },
        chain: { handlerSettleTimeoutMs: MAX_TIMER_MS },
      },
    );
    const calls = [
      unary(client.updateProject.bind(client), { project: project("p-1") }, metadataOf("hung")),
      unary(client.addMember.bind(client), MEMBER, metadataOf("plain")),
    ];
    await expect.poll(() => started.size).toBe(2);
    server.forceShutdown();
    // A process that exits now loses the hung call's record: the report and onError say so.
    expect(await recorder.close()).toStrictEqual({
      ok: false,
      results: [
        { emitter: "memory", status: "ok" },
        { emitter: "recorder", status: "timeout", pending: 1 },
      ],
      pending: 1,
    });
    expect(errors).toStrictEqual([
      "recorder: close() stopped waiting for 1 record of calls still in flight after closeWaitMs (1000 ms); " +
        "arriving later, they are dropped and counted in stats().dropped. Shut the server down before close(), or raise closeWaitMs",
    ]);
    await Promise.all(calls);
    // The plain handler's call is recorded at its cancel, during the wait; the hung one is still to come.
    expect([brief(memory.events), recorder.stats().pendingRecords]).toStrictEqual([
      [["EVENT_TYPE_RESOURCE_MUTATION", "plain", "CANCELLED", false, SHUTDOWN_UNKNOWN]],
      1,
    ]);
    handlerMayFinish.open();
    await expect.poll(() => recorder.stats().pendingRecords).toBe(0);
    const stats = recorder.stats();
    expect([stats.accepted, stats.dropped, memory.stats().dropped, memory.events.length]).toStrictEqual([
      1,
      1,
      {}, // dropped by the Recorder itself, after close: never handed to the emitter
      1,
    ]);
  });

  it("waits for an authz check still answering when the server is shut down", async () => {
    const answer = gate<Decision>();
    const asked = gate();
    const authorizer: Authorizer = {
      async check() {
        asked.open();
        return answer.opened;
      },
      async batchCheck(requests) {
        return Promise.all(requests.map((request) => this.check(request)));
      },
    };
    const alice: Authenticator = {
      method: "test",
      authenticate: () => ({ kind: "authenticated", actor: { id: "alice", type: "user" } }),
    };
    const { server, client, recorder, memory } = await start(
      async (call) => call.request.project as Project,
      {
        chain: { authn: { authenticators: [alice] }, authz: { authorizer, rules: authzRules } },
      },
    );
    const call = unary(
      client.updateProject.bind(client),
      { project: project("p-1") },
      metadataOf("checking"),
    );
    await asked.opened;
    server.forceShutdown();
    const closing = recorder.close();
    // The check answers after the cancel: the decision is recorded with the status the client got.
    await expect.poll(() => recorder.stats().pendingRecords).toBe(1);
    answer.open({ kind: "allowed", cacheHit: false });
    await closing;
    expect((await call)[0]?.code).toBe(status.CANCELLED);
    expect(brief(memory.events)).toStrictEqual([
      ["EVENT_TYPE_AUTHN_RESULT", "checking", "OK", true, ""],
      ["EVENT_TYPE_AUTHZ_DECISION", "checking", "CANCELLED", false, ""],
    ]);
    expect(recorder.stats().dropped).toBe(0);
  });

  it("waits for an authenticator still answering when the server is shut down", async () => {
    const answer = gate();
    const asked = gate();
    const slow: Authenticator = {
      method: "slow",
      async authenticate() {
        asked.open();
        await answer.opened;
        return { kind: "authenticated", actor: { id: "alice", type: "user" } };
      },
    };
    const { server, client, recorder, memory } = await start(
      async (call) => call.request.project as Project,
      {
        chain: { authn: { authenticators: [slow] } },
      },
    );
    const call = unary(client.updateProject.bind(client), { project: project("p-1") }, metadataOf("authn"));
    await asked.opened;
    server.forceShutdown();
    const closing = recorder.close();
    // The authenticator answers after the client got its status: the attempt carries that status.
    expect((await call)[0]?.code).toBe(status.CANCELLED);
    answer.open();
    await closing;
    expect(brief(memory.events)).toStrictEqual([
      ["EVENT_TYPE_AUTHN_RESULT", "authn", "CANCELLED", false, ""],
    ]);
    expect(recorder.stats().dropped).toBe(0);
  });

  it("stops waiting for an authenticator that never answers 10 s after its call ended (every later close() would wait its whole closeWaitMs)", async () => {
    const asked = gate();
    const never: Authenticator = {
      method: "never",
      authenticate() {
        asked.open();
        return new Promise(() => {});
      },
    };
    const { server, client, recorder, memory } = await start(
      async (call) => call.request.project as Project,
      {
        // The longest wait there is: a hold never released would make close() outlast the test's timeout.
        recorder: { closeWaitMs: MAX_TIMER_MS },
        chain: { authn: { authenticators: [never] } },
      },
    );
    const [error] = await unary(
      client.updateProject.bind(client),
      { project: project("p-1") },
      metadataOf("hung"),
      // Far enough for a new connection and the call to reach the authenticator on a loaded machine: at
      // 100 ms the client's deadline could pass before the call was sent, and `asked` never opened.
      { deadline: Date.now() + HELD_DEADLINE_MS },
    );
    await asked.opened;
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    // Held while the call's attempt may still be answered: a close() now would wait for it.
    expect(recorder.stats().pendingRecords).toBeGreaterThan(0);
    // The hold ends DEFAULT_HANDLER_SETTLE_TIMEOUT_MS (10 s) after the call ended.
    while (recorder.stats().pendingRecords > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    await stopServer(server);
    const report = await recorder.close();
    expect([report.ok, memory.events.length, recorder.stats().dropped]).toStrictEqual([true, 0, 0]);
  }, 30_000);
});
