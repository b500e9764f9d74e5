// An interceptor of the application's placed before the audit chain that ends a call itself (a server
// draining its calls), over real loopback gRPC, while an asyncService handler runs on: the mutation
// event names that interceptor as what ended the call, not grpc-js (review R135), and says what the
// handler did.
import {
  credentials,
  Metadata,
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  type ServerInterceptor,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: Server;
let client: ProjectServiceClient;
/** Ends the call the handler runs in, as the draining interceptor does, once the handler started. */
let drain: () => void = () => {};

/** Placed first: ends a call itself with UNAVAILABLE when `drain` is called. */
const draining: ServerInterceptor = (_method, call) => {
  const own = new ServerInterceptingCall(call, new ResponderBuilder().build());
  drain = () =>
    own.sendStatus({ code: status.UNAVAILABLE, details: "server draining", metadata: new Metadata() });
  return own;
};

beforeAll(async () => {
  server = new Server({
    interceptors: [draining, ...createAuditInterceptors({ recorder, rules: auditRules })],
  });
  const some: Partial<Handlers> = {
    // Drains its own call, then finishes its change once grpc-js reports the call cancelled.
    async updateProject(call) {
      const cancelled = new Promise((resolve) => call.once("cancelled", resolve));
      drain();
      await cancelled;
      return call.request.project as Project;
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

it("records a status an interceptor before the chain sent itself as that interceptor's, with the handler's outcome", async () => {
  const [error] = await unary(
    client.updateProject.bind(client),
    { project: { id: "p-1", name: "renamed", ownerId: "" } },
    requestIdMetadata("drained"),
  );
  expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "server draining"]);
  await expect.poll(() => memory.events.filter((e) => e.requestId === "drained").length).toBe(1);
  const [event] = memory.events.filter((e) => e.requestId === "drained");
  expect([event?.target?.id, event?.result]).toStrictEqual([
    "p-1",
    {
      success: true,
      code: "OK",
      message: "an interceptor before the audit chain ended the call (UNAVAILABLE); the handler finished OK",
    },
  ]);
});
