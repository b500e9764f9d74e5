// asyncService cuts a thrown status's details to what an HTTP/2 trailer carries, over real loopback gRPC
// with the audit chain: without the cut, 100 000 characters stall the connection, that call and every
// later one, until their deadlines.
import {
  credentials,
  Metadata,
  Server,
  type ServiceError,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CreateProjectRequest,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { MAX_FIELD_BYTES, truncateText } from "../../src/event/limits.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { asyncService } from "../../src/server/async-service.js";
import { MAX_DETAILS_ENCODED_BYTES } from "../../src/server/status-details.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

/** What CreateProject throws as `details`, by the project name asked for. */
const THROWN: Record<string, string> = {
  ascii: "h".repeat(100_000),
  cjk: "日".repeat(20_000), // 9 bytes each once percent-encoded: 180 KB
  emoji: `a${"😀".repeat(10_000)}`, // a surrogate pair, 12 bytes encoded, that must not be split
  lone: "bad \ud800 half", // encodeURI throws on a lone surrogate
};

const memory = createMemoryEmitter();
let server: Server;
let client: ProjectServiceClient;

beforeAll(async () => {
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  const handlers = {
    async createProject(call: { request: CreateProjectRequest }) {
      const details = THROWN[call.request.name];
      if (details !== undefined) throw { code: status.NOT_FOUND, details };
      return { id: "p-1", name: call.request.name, ownerId: "" };
    },
  };
  server.addService(
    ProjectServiceService,
    asyncService(ProjectServiceService, handlers as never) as UntypedServiceImplementation,
  );
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopServer(server);
});

/** Calls CreateProject for a project named `name`. */
function createProject(name: string) {
  return new Promise<{ error: ServiceError | null; id?: string }>((resolve) => {
    client.createProject(
      { name } as CreateProjectRequest,
      new Metadata(),
      { deadline: Date.now() + 5000 },
      (error, response) => resolve({ error, id: response?.id }),
    );
  });
}

/** The status code name and message of the next CreateProject event the Recorder built. */
async function recordedStatus(): Promise<[string | undefined, string | undefined]> {
  const event = await memory.waitFor((e) => e.detail?.$case === "resourceMutation");
  memory.clear();
  return [event.result?.code, event.result?.message];
}

describe("asyncService status details", () => {
  it("cuts long details to 8 KiB as sent, so later calls on the connection still answer", async () => {
    const { error } = await createProject("ascii");
    const sent = `${"h".repeat(MAX_DETAILS_ENCODED_BYTES - 9)}…`; // "…" is 9 bytes encoded
    expect([error?.code, error?.details]).toStrictEqual([status.NOT_FOUND, sent]);
    // The event records what the client got, cut again by the Recorder (to 256 bytes by default).
    expect(await recordedStatus()).toStrictEqual(["NOT_FOUND", truncateText(sent, MAX_FIELD_BYTES)]);
    expect(await createProject("fine")).toStrictEqual({ error: null, id: "p-1" });
    memory.clear();
  });

  it("measures details percent-encoded, as grpc-js sends them, and never splits a character", async () => {
    const cjk = await createProject("cjk");
    expect(cjk.error?.details).toBe(`${"日".repeat(Math.floor((MAX_DETAILS_ENCODED_BYTES - 9) / 9))}…`);
    expect(encodeURI(cjk.error?.details ?? "").length).toBeLessThanOrEqual(MAX_DETAILS_ENCODED_BYTES);
    const emoji = await createProject("emoji");
    expect(emoji.error?.details).toBe(`a${"😀".repeat(Math.floor((MAX_DETAILS_ENCODED_BYTES - 10) / 12))}…`);
    expect(await createProject("fine")).toStrictEqual({ error: null, id: "p-1" });
    memory.clear();
  });

  it("sends a lone surrogate as U+FFFD, as the Recorder records it, instead of failing the send", async () => {
    const { error } = await createProject("lone");
    expect([error?.code, error?.details]).toStrictEqual([status.NOT_FOUND, "bad \ufffd half"]);
    expect(await recordedStatus()).toStrictEqual(["NOT_FOUND", "bad \ufffd half"]);
  });
});
