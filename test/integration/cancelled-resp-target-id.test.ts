// A call whose target id comes from its response (`target_id_field: "resp.…"`) and whose client has gone
// (a cancel, a deadline) while its asyncService handler runs on, over real loopback gRPC: grpc-js drops
// the handler's answer, yet the handler finished OK and made the change, so the event must carry the id
// it answered with, or the trail cannot find the change. The normal path reads it as the answer goes out.
import { credentials, type Metadata, Server, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";
import { cancelWhen } from "./cancel-when.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const memory = createMemoryEmitter();
/** What the Recorder reported (a target id reader that threw). */
const reported: string[] = [];
const recorder = createRecorder({
  service: "projects",
  emitters: [memory],
  onError: (error) => reported.push(error.message),
});
let server: Server;
let client: ProjectServiceClient;
/** Request ids of the calls whose handler started. */
const started = new Set<string>();

const requestIdOf = (call: { metadata: Metadata }) => String(call.metadata.get("x-request-id")[0]);
const cancelled = (call: NodeJS.EventEmitter) =>
  new Promise<void>((resolve) => call.once("cancelled", () => resolve()));

beforeAll(async () => {
  // The demo's generated rules: CreateProject reads `resp.id`, ImportMembers `resp.project_id`.
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: [auditRules] }) });
  const some: Partial<Handlers> = {
    // "late": creates the project once the client has gone, and answers with its new id.
    async createProject(call) {
      const id = requestIdOf(call);
      started.add(id);
      if (call.request.name === "late" || call.request.name === "late-throwing") await cancelled(call);
      if (call.request.name === "late-throwing") {
        // An answer whose id cannot be read: the reader's error is reported, once per call.
        return Object.defineProperty({ name: "late-throwing", ownerId: "" }, "id", {
          enumerable: true,
          get: () => {
            throw new Error("no id today");
          },
        }) as { id: string; name: string; ownerId: string };
      }
      return { id: `p-${id}`, name: call.request.name, ownerId: "" };
    },
    // Reads no message: answers once the client has gone.
    async importMembers(call) {
      started.add(requestIdOf(call));
      await cancelled(call);
      return { projectId: "p-imported", imported: 0 };
    },
  };
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, some as Handlers));
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
  reported.length = 0;
});

/** The call's one event, once it arrived. */
async function eventOf(requestId: string): Promise<AuditEvent | undefined> {
  await expect.poll(() => memory.events.filter((e) => e.requestId === requestId).length).toBe(1);
  return memory.events.find((e) => e.requestId === requestId);
}

const brief = (e: AuditEvent | undefined) => [e?.target, e?.result];

describe("a create whose target id is in its response", () => {
  it("records the id its handler returned after the client cancelled, and an answered call's as before", async () => {
    // Nothing cuts this one off: its id is read from the answer as it goes out, as ever.
    const [error, project] = await unary(
      client.createProject.bind(client),
      { name: "quick" },
      requestIdMetadata("c-normal"),
    );
    expect([error, project?.id]).toStrictEqual([null, "p-c-normal"]);
    expect(brief(await eventOf("c-normal"))).toStrictEqual([
      { type: "project", id: "p-c-normal", name: "" },
      { success: true, code: "OK", message: "" },
    ]);
    const code = await cancelWhen(client, "createProject", { name: "late" }, "c-cancel", (id) =>
      started.has(id),
    );
    expect(code).toBe(status.CANCELLED);
    expect(brief(await eventOf("c-cancel"))).toStrictEqual([
      { type: "project", id: "p-c-cancel", name: "" },
      {
        success: true,
        code: "OK",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
      },
    ]);
  });

  it("records the id its handler returned after the deadline passed", async () => {
    // A deadline the server reads as the client's: a server that read the call late recorded a cancel.
    const clock = holdDeadline();
    try {
      const [error] = await unary(
        client.createProject.bind(client),
        { name: "late" },
        requestIdMetadata("c-deadline"),
        { deadline: clock.deadline },
      );
      clock.passed();
      expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(brief(await eventOf("c-deadline"))).toStrictEqual([
        { type: "project", id: "p-c-deadline", name: "" },
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

  it("records the id a client-streaming handler returned after the client cancelled", async () => {
    const code = await new Promise<number | undefined>((resolve) => {
      const call = client.importMembers(requestIdMetadata("i-cancel"), (error) => resolve(error?.code));
      call.write({ projectId: "p-sent", userId: "u-1", role: "viewer" });
      void expect
        .poll(() => started.has("i-cancel"))
        .toBe(true)
        .then(() => call.cancel());
    });
    expect(code).toBe(status.CANCELLED);
    expect(brief(await eventOf("i-cancel"))).toStrictEqual([
      { type: "project", id: "p-imported", name: "" },
      {
        success: true,
        code: "OK",
        message:
          "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
      },
    ]);
  });

  it("reads the id of the answer after a cancel once: a reader that throws is reported once (review R128)", async () => {
    const code = await cancelWhen(client, "createProject", { name: "late-throwing" }, "c-throwing", (id) =>
      started.has(id),
    );
    expect(code).toBe(status.CANCELLED);
    expect((await eventOf("c-throwing"))?.target?.id).toBe("");
    // grpc-js hands the dropped answer to the interceptors after the event was recorded.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reported).toStrictEqual(["rules: targetId of /example.v1.ProjectService/CreateProject threw"]);
  });
});
