// Statuses a plain grpc-js handler (not asyncService) sends, over real loopback gRPC with the audit
// chain: the client and the mutation event get the same status. grpc-js throws on a lone surrogate in
// the details (the client gets UNKNOWN), stalls the connection on 1 MB of details, and sends a code
// outside 0–16 as it is, which the Recorder refuses.
import { credentials, Metadata, Server, type ServiceError, type sendUnaryData, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CreateProjectRequest,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { MAX_FIELD_BYTES, truncateText } from "../../src/event/limits.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import type { StatusMessagePolicy } from "../../src/recorder/status-message.js";
import { MAX_DETAILS_ENCODED_BYTES } from "../../src/server/status-details.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";

/** What the plain CreateProject handler answers, by the project name asked for. */
const ANSWERS: Record<string, { code: number; details: string }> = {
  lone: { code: status.NOT_FOUND, details: "bad \udc00 text" },
  huge: { code: status.NOT_FOUND, details: "y".repeat(1 << 20) },
  "code-99": { code: 99, details: "odd" },
  "code-17": { code: 17, details: "odd" },
  "code--1": { code: -1, details: "odd" },
};

interface Running {
  server: Server;
  client: ProjectServiceClient;
  recorder: Recorder;
  memory: ReturnType<typeof createMemoryEmitter>;
}

let running: Running | undefined;

afterEach(async () => {
  running?.client.close();
  running?.server.forceShutdown();
  await running?.recorder.close();
  running = undefined;
});

async function start(
  options: { ruled?: boolean; failMode?: "open" | "closed"; statusMessages?: StatusMessagePolicy } = {},
): Promise<Running> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    ...(options.statusMessages === undefined ? {} : { statusMessages: options.statusMessages }),
  });
  const rules = options.ruled === false ? [] : auditRules;
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules, failMode: options.failMode ?? "open" }),
  });
  server.addService(ProjectServiceService, {
    createProject(call: { request: CreateProjectRequest }, callback: sendUnaryData<Project>) {
      const answer = ANSWERS[call.request.name];
      if (answer === undefined) callback(null, { id: "p-1", name: call.request.name, ownerId: "" });
      else callback(answer);
    },
  } as never);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  running = { server, client, recorder, memory };
  return running;
}

/** Calls CreateProject for `name` on one connection; the status the client got. */
function createProject(client: ProjectServiceClient, name: string) {
  return new Promise<{ code: number; details: string }>((resolve) => {
    client.createProject(
      { name } as CreateProjectRequest,
      new Metadata(),
      { deadline: Date.now() + 5000 },
      (error: ServiceError | null) =>
        resolve({ code: error?.code ?? status.OK, details: error?.details ?? "" }),
    );
  });
}

/** The result of the next mutation event, then forgets the events. */
async function recorded(memory: Running["memory"]) {
  const event = await memory.waitFor((e) => e.detail?.$case === "resourceMutation");
  memory.clear();
  return { success: event.result?.success, code: event.result?.code, message: event.result?.message };
}

describe("details a plain handler sends", () => {
  it("sends and records a lone surrogate as U+FFFD, instead of grpc-js failing the send", async () => {
    const { client, memory } = await start();
    expect(await createProject(client, "lone")).toStrictEqual({
      code: status.NOT_FOUND,
      details: "bad \ufffd text",
    });
    expect(await recorded(memory)).toStrictEqual({
      success: false,
      code: "NOT_FOUND",
      message: "bad \ufffd text",
    });
  });

  it("cuts 1 MB of details to 8 KiB as sent and recorded, so the connection still answers", async () => {
    const { client, memory } = await start();
    const sent = `${"y".repeat(MAX_DETAILS_ENCODED_BYTES - 9)}…`; // "…" is 9 bytes encoded
    expect(await createProject(client, "huge")).toStrictEqual({ code: status.NOT_FOUND, details: sent });
    // The event records what the client got, cut again by the Recorder (to 256 bytes by default).
    expect(await recorded(memory)).toStrictEqual({
      success: false,
      code: "NOT_FOUND",
      message: truncateText(sent, MAX_FIELD_BYTES),
    });
    expect(await createProject(client, "fine")).toStrictEqual({ code: status.OK, details: "" });
  });

  it("sends a lone surrogate as U+FFFD for a method without a rule too", async () => {
    const { client, memory } = await start({ ruled: false });
    expect(await createProject(client, "lone")).toStrictEqual({
      code: status.NOT_FOUND,
      details: "bad \ufffd text",
    });
    expect(memory.events).toStrictEqual([]);
  });
});

describe("status codes outside 0–16 from a plain handler", () => {
  for (const failMode of ["open", "closed"] as const) {
    it(`leaves the client its code and records UNKNOWN naming it (failMode ${failMode})`, async () => {
      const { client, memory, recorder } = await start({ failMode });
      for (const code of [99, 17, -1]) {
        expect(await createProject(client, `code-${code}`)).toStrictEqual({ code, details: "odd" });
        expect(await recorded(memory)).toStrictEqual({
          success: false,
          code: "UNKNOWN",
          message: `status code ${code}: odd`,
        });
      }
      expect(recorder.stats()).toMatchObject({ accepted: 3, invalid: 0 });
    });
  }

  it("keeps the code's name under statusMessages \"omit\", and drops the handler's words", async () => {
    const { client, memory } = await start({ statusMessages: "omit" });
    expect(await createProject(client, "code-99")).toStrictEqual({ code: 99, details: "odd" });
    expect(await recorded(memory)).toStrictEqual({
      success: false,
      code: "UNKNOWN",
      message: "status code 99",
    });
  });
});
