// A call whose client has gone (a cancel, a deadline, a response grpc-js cannot send) while its handler
// runs on, over real loopback gRPC: grpc-js drops the handler's status, and the mutation or access event
// must say what the handler did (asyncService reports it), or that it is unknown (a plain handler),
// whatever record_on_error says; and the target id is the one of the messages as they passed.
import { setTimeout as sleep } from "node:timers/promises";
import {
  credentials,
  type Metadata,
  Server,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AddMemberRequest,
  type ArchiveProgress,
  type GetProjectRequest,
  type Member,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";
import { cancelWhen } from "./cancel-when.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const SERVICE = "/example.v1.ProjectService/";
const ARCHIVE = `${SERVICE}ArchiveProject`;
const UPDATE = `${SERVICE}UpdateProject`;

/**
 * The example's rules, with two changes: UpdateProject (record_on_error false) omits status messages,
 * and ArchiveProject reads its target from the first response, as the plugin generates for
 * `target_id_field: "resp.project_id"`.
 */
const rules: RuleTable = {
  ...auditRules,
  [UPDATE]: Object.freeze({ ...(auditRules[UPDATE] as AuditRule), statusMessage: "omit" as const }),
  [ARCHIVE]: Object.freeze({
    ...(auditRules[ARCHIVE] as AuditRule),
    targetIdField: "resp.project_id",
    targetId: (_request: unknown, response: unknown) =>
      String((response as ArchiveProgress | undefined)?.projectId ?? ""),
  }),
};

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let client: ProjectServiceClient;
/** Request ids of the calls whose handler started. */
const started = new Set<string>();
/** Request ids of the calls whose handler finished its change. */
const applied = new Set<string>();
/** Releases the handler that hangs (DeleteProject "hang"). */
let release: () => void = () => {};

const requestIdOf = (call: { metadata: Metadata }) => String(call.metadata.get("x-request-id")[0]);
const cancelled = (call: NodeJS.EventEmitter) =>
  new Promise<void>((resolve) => call.once("cancelled", () => resolve()));

beforeAll(async () => {
  server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules, handlerSettleTimeoutMs: 200 }),
    "grpc.max_send_message_length": 1024,
  });
  const some: Partial<Handlers> = {
    // Finishes its change once the client has gone; "big" answers more than grpc-js may send.
    async updateProject(call) {
      const id = requestIdOf(call);
      started.add(id);
      const project = call.request.project as Project;
      if (project.name === "big") {
        applied.add(id);
        return { ...project, name: "x".repeat(2000) };
      }
      if (project.name.startsWith("race-")) {
        await sleep((Number(project.name.slice(5)) % 5) * 10);
        applied.add(id);
        return project;
      }
      await cancelled(call);
      if (project.id === "missing") throw { code: status.NOT_FOUND, details: "no such project" };
      applied.add(id);
      return project;
    },
    async removeMember(call) {
      started.add(requestIdOf(call));
      await cancelled(call);
      throw { code: status.NOT_FOUND, details: "no such member" };
    },
    // "hang" settles only when the test releases it; any other id is rewritten before it answers.
    async deleteProject(call) {
      const id = requestIdOf(call);
      started.add(id);
      if (call.request.id === "hang") {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        applied.add(id);
        return {};
      }
      call.request.id = "p-rewritten";
      return {};
    },
    // One progress object, written twice: the second write changes it.
    async archiveProject(call) {
      const progress = { projectId: "p-first", percent: 50 };
      await new Promise<void>((resolve) => call.write(progress, () => resolve()));
      progress.projectId = "p-second";
      progress.percent = 100;
      await new Promise<void>((resolve) => call.write(progress, () => resolve()));
    },
  };
  const handlers = asyncService(ProjectServiceService, some as Handlers);
  server.addService(ProjectServiceService, {
    ...handlers,
    // Plain grpc-js handlers: they never answer once the client has gone, and nothing reports them.
    addMember(call: ServerUnaryCall<AddMemberRequest, Member>, _callback: sendUnaryData<Member>) {
      started.add(requestIdOf(call));
    },
    getProject(call: ServerUnaryCall<GetProjectRequest, Project>, _callback: sendUnaryData<Project>) {
      started.add(requestIdOf(call));
    },
  });
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

/** Calls `method`, cancels it once its handler started; resolves to the status code the client got. */
const cancelOnceStarted = (method: keyof ProjectServiceClient, request: unknown, requestId: string) =>
  cancelWhen(client, method, request, requestId, (id) => started.has(id));

/** The call's events other than authn and authz (there are none here), once `count` arrived. */
async function eventsOf(requestId: string, count = 1): Promise<AuditEvent[]> {
  await expect.poll(() => memory.events.filter((e) => e.requestId === requestId).length).toBe(count);
  await sleep(50); // onCancel fires after every call: make sure no second record follows
  return memory.events.filter((e) => e.requestId === requestId);
}

const brief = (e: AuditEvent | undefined) => [e?.target?.id, e?.result];

describe("a handler that outlives its client", () => {
  it("records the change an asyncService handler finished after the deadline, though the rule records only successes", async () => {
    // A deadline the server reads as the client's: a server that read the call late recorded a cancel.
    const clock = holdDeadline();
    try {
      const [error] = await unary(
        client.updateProject.bind(client),
        { project: { id: "p-1", name: "renamed", ownerId: "" } },
        requestIdMetadata("late-ok"),
        { deadline: clock.deadline },
      );
      clock.passed();
      expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
      const [event] = await eventsOf("late-ok");
      expect(applied.has("late-ok")).toBe(true);
      // The rule omits status messages; this message is the library's own and says why the client got none.
      expect(brief(event)).toStrictEqual([
        "p-1",
        {
          success: true,
          code: "OK",
          message: "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK",
        },
      ]);
    } finally {
      clock.release();
    }
  });

  it("records the handler's failure after a cancel, with its status, for a rule that records failures", async () => {
    expect(await cancelOnceStarted("removeMember", { memberId: 7 }, "late-fail")).toBe(status.CANCELLED);
    const [event] = await eventsOf("late-fail");
    expect(brief(event)).toStrictEqual([
      "7",
      {
        success: false,
        code: "NOT_FOUND",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler failed: no such member",
      },
    ]);
  });

  it("records nothing for a handler that failed after the cancel, when the rule records only successes", async () => {
    const code = await cancelOnceStarted(
      "updateProject",
      { project: { id: "missing", name: "n", ownerId: "" } },
      "late-fail-quiet",
    );
    expect(code).toBe(status.CANCELLED);
    // A sentinel call recorded after it: the failed call's settlement came first and recorded nothing.
    await cancelOnceStarted("removeMember", { memberId: 8 }, "sentinel");
    await eventsOf("sentinel");
    expect(memory.events.filter((e) => e.requestId === "late-fail-quiet")).toStrictEqual([]);
    expect(applied.has("late-fail-quiet")).toBe(false);
  });

  it("records a plain handler's call as unknown, not as a failure, whatever record_on_error says", async () => {
    expect(await cancelOnceStarted("addMember", { projectId: "p-1", userId: "u" }, "plain")).toBe(
      status.CANCELLED,
    );
    const [event] = await eventsOf("plain");
    expect(brief(event)).toStrictEqual([
      "", // resp.member_id: no response
      {
        success: false,
        code: "CANCELLED",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler's outcome is unknown: it may have completed the change",
      },
    ]);
  });

  it("says a read may have happened, for an access rule", async () => {
    expect(await cancelOnceStarted("getProject", { id: "p-4" }, "plain-read")).toBe(status.CANCELLED);
    const [event] = await eventsOf("plain-read");
    expect(brief(event)).toStrictEqual([
      "p-4",
      {
        success: false,
        code: "CANCELLED",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler's outcome is unknown: it may have completed the read",
      },
    ]);
  });

  it("records an unknown outcome when the asyncService handler has not settled in time, and nothing more later", async () => {
    expect(await cancelOnceStarted("deleteProject", { id: "hang" }, "hung")).toBe(status.CANCELLED);
    const [event] = await eventsOf("hung");
    expect(brief(event)).toStrictEqual([
      "hang",
      {
        success: false,
        code: "CANCELLED",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler had not finished 200 ms later: it may have completed the change",
      },
    ]);
    release();
    await expect.poll(() => applied.has("hung")).toBe(true);
    expect(await eventsOf("hung")).toHaveLength(1);
  });

  it("records the change when grpc-js cannot send the handler's OK answer (too large)", async () => {
    const [error] = await unary(
      client.updateProject.bind(client),
      { project: { id: "p-7", name: "big", ownerId: "" } },
      requestIdMetadata("too-large"),
    );
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const [event] = await eventsOf("too-large");
    expect(applied.has("too-large")).toBe(true);
    expect(brief(event)).toStrictEqual([
      "p-7",
      {
        success: true,
        code: "OK",
        message: "grpc-js ended the call (RESOURCE_EXHAUSTED); the handler finished OK",
      },
    ]);
  });

  it("records each of many calls with racing deadlines exactly once, and never a completed change as failed", async () => {
    // Handlers take 0 to 40 ms and deadlines are 10 to 50 ms away: some answer in time, some after.
    const ids = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    await Promise.all(
      ids.map((id, i) =>
        unary(
          client.updateProject.bind(client),
          { project: { id: `p-${i}`, name: id, ownerId: "" } },
          requestIdMetadata(id),
          { deadline: Date.now() + 10 + (i % 7) * 7 },
        ),
      ),
    );
    // Calls whose deadline passed before their handler ran changed nothing and record no mutation.
    const ran = ids.filter((id) => started.has(id));
    await expect.poll(() => ran.every((id) => memory.events.some((e) => e.requestId === id))).toBe(true);
    await sleep(100);
    for (const id of ran) {
      const events = memory.events.filter((e) => e.requestId === id);
      expect([id, events.length, events[0]?.result?.success]).toStrictEqual([id, 1, applied.has(id)]);
    }
    expect(memory.events.filter((e) => !started.has(e.requestId))).toStrictEqual([]);
  });
});

describe("the target id", () => {
  it("is read from the first request as received, not after the handler changed it", async () => {
    const [error] = await unary(
      client.deleteProject.bind(client),
      { id: "p-sent" },
      requestIdMetadata("rewrite"),
    );
    expect(error).toBeNull();
    const [event] = await eventsOf("rewrite");
    expect(event?.target?.id).toBe("p-sent");
  });

  it("is read from the first response as sent, not from the object the handler reused", async () => {
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      const call = client.archiveProject({ projectId: "p-1" }, requestIdMetadata("reuse"));
      call.on("data", (progress: ArchiveProgress) => received.push(progress.projectId));
      call.on("end", () => resolve());
      call.on("error", () => resolve());
    });
    expect(received).toStrictEqual(["p-first", "p-second"]);
    const [event] = await eventsOf("reuse");
    expect(event?.target?.id).toBe("p-first");
  });
});
