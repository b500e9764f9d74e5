// A handler that sends a header named like `requestIdHeader` itself: the caller must only ever be handed
// the call's own request id, the one its events carry. Its headers were replaced; its status metadata
// (trailers), sent after headers went out, reached the caller unchanged, beside the call's id.
import {
  credentials,
  Metadata,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type StatusObject,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type GetProjectRequest,
  type ListMembersRequest,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
  type UpdateProjectRequest,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

const memory = createMemoryEmitter();
let server: Server;
let client: ProjectServiceClient;

/** Metadata holding the handler's own `x-request-id`. */
function handlersOwn(): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", "handler-own");
  return metadata;
}

beforeAll(async () => {
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  server.addService(ProjectServiceService, {
    getProject(call: ServerUnaryCall<GetProjectRequest, Project>, callback: sendUnaryData<Project>) {
      call.sendMetadata(handlersOwn());
      callback(null, { id: "p-1", name: "", ownerId: "" } as Project);
    },
    // Headers first, then a failure whose status metadata holds the handler's own id.
    updateProject(call: ServerUnaryCall<UpdateProjectRequest, Project>, callback: sendUnaryData<Project>) {
      call.sendMetadata(new Metadata());
      callback({ code: status.FAILED_PRECONDITION, details: "precondition", metadata: handlersOwn() });
    },
    listMembers(call: ServerWritableStream<ListMembersRequest, unknown>) {
      call.sendMetadata(new Metadata());
      call.end(handlersOwn());
    },
  } as never);
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopServer(server);
});

const callersId = () => {
  const metadata = new Metadata();
  metadata.set("x-request-id", "caller-id");
  return metadata;
};

it("hands the caller only the call's request id, in headers and in trailers sent after them", async () => {
  const unaryHeaders = await new Promise<Metadata>((resolve, reject) => {
    const call = client.getProject({ id: "p-1" } as GetProjectRequest, callersId(), (error) => {
      if (error) reject(error);
    });
    call.on("metadata", resolve);
  });
  const failed = await new Promise<ServiceError | null>((resolve) =>
    client.updateProject(
      { project: { id: "p-1", name: "n", ownerId: "" } } as UpdateProjectRequest,
      callersId(),
      (error) => resolve(error),
    ),
  );
  const streamEnd = await new Promise<StatusObject>((resolve) => {
    const stream = client.listMembers({ projectId: "p-1" } as ListMembersRequest, callersId());
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("status", resolve);
  });

  expect({
    unaryHeaders: unaryHeaders.get("x-request-id"),
    failedCode: failed?.code,
    failedTrailers: failed?.metadata.get("x-request-id"),
    streamTrailers: streamEnd.metadata.get("x-request-id"),
  }).toStrictEqual({
    unaryHeaders: ["caller-id"],
    failedCode: status.FAILED_PRECONDITION,
    failedTrailers: ["caller-id"],
    streamTrailers: ["caller-id"],
  });
  expect(new Set(memory.events.map((event) => event.requestId))).toStrictEqual(new Set(["caller-id"]));
});
