// A handler may send one Metadata object of its own in every call (a constant set of headers): the
// request id header goes on a copy, so one call's id never rides into another call's headers or trailers.
import { credentials, Metadata, Server, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ProjectServiceClient,
  type ProjectServiceServer,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

describe("a handler that reuses one Metadata object", () => {
  const shared = new Metadata();
  shared.set("x-server", "v1");
  let server: Server;
  let client: ProjectServiceClient;

  beforeAll(async () => {
    const recorder = createRecorder({ service: "projects", emitters: [createNoopEmitter()] });
    server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
    const handlers: Pick<ProjectServiceServer, "getProject" | "listMembers"> = {
      getProject(call, callback) {
        call.sendMetadata(shared);
        callback(null, { id: "p-1", name: "", ownerId: "" });
      },
      listMembers(call) {
        call.sendMetadata(new Metadata());
        call.end(shared); // the same object as trailers
      },
    };
    server.addService(ProjectServiceService, handlers as never);
    const port = await listenOnLoopback(server);
    client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await stopServer(server);
  });

  const withRequestId = (id: string) => {
    const metadata = new Metadata();
    metadata.set("x-request-id", id);
    return metadata;
  };

  // Before the fix: the shared object kept call A's id, and call B's trailers carried "call-a".
  it("sends each call's own id, and leaves the handler's object as it was", async () => {
    const headersA = await new Promise<Metadata>((resolve, reject) => {
      const call = client.getProject({ id: "p-1" }, withRequestId("call-a"), (error: ServiceError | null) => {
        if (error) reject(error);
      });
      call.on("metadata", resolve);
    });
    const b = await new Promise<{ headers: Metadata | undefined; status: StatusObject }>((resolve) => {
      let headers: Metadata | undefined;
      const stream = client.listMembers({ projectId: "p-1" }, withRequestId("call-b"));
      stream.on("metadata", (metadata: Metadata) => {
        headers = metadata;
      });
      stream.on("data", () => {});
      stream.on("error", () => {});
      stream.on("status", (status: StatusObject) => resolve({ headers, status }));
    });
    expect({
      a: headersA.get("x-request-id"),
      aServer: headersA.get("x-server"),
      bHeaders: b.headers?.get("x-request-id"),
      bTrailers: b.status.metadata.get("x-request-id"),
      bTrailerServer: b.status.metadata.get("x-server"),
      shared: shared.getMap(),
    }).toStrictEqual({
      a: ["call-a"],
      aServer: ["v1"],
      bHeaders: ["call-b"],
      bTrailers: [],
      bTrailerServer: ["v1"],
      shared: { "x-server": "v1" },
    });
  });
});
