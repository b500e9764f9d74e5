// asyncService over real loopback gRPC (no interceptors): trailing metadata on a thrown status, class
// instances as handlers, errors that are statuses and errors that only look like one, rejection values
// that cannot be read, request messages cut off by a deadline.
import {
  credentials,
  Metadata,
  Server,
  type ServerUnaryCall,
  type ServiceError,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  AddMemberRequest,
  type DeleteProjectRequest,
  type DeleteProjectResponse,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { leftOpenCall } from "../helpers/left-open-call.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

const unused = async (): Promise<never> => {
  throw { code: status.UNIMPLEMENTED, details: "not in this test" };
};

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

/** Serves `implementation` on 127.0.0.1 (no interceptors) and returns a client for it. */
async function serve(implementation: UntypedServiceImplementation): Promise<ProjectServiceClient> {
  return (await serveOnPort(implementation)).client;
}

/** Serves `implementation` on 127.0.0.1 (no interceptors); its port, and a client for it. */
async function serveOnPort(implementation: UntypedServiceImplementation) {
  const server = new Server();
  server.addService(ProjectServiceService, implementation);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  closers.push(async () => {
    client.close();
    await stopServer(server);
  });
  return { client, port };
}

function deleteProject(client: ProjectServiceClient, projectId = "p-1") {
  return new Promise<{ error: ServiceError | null; response?: DeleteProjectResponse }>((resolve) => {
    client.deleteProject(
      { id: projectId } as DeleteProjectRequest,
      new Metadata(),
      { deadline: Date.now() + 3000 },
      (error, response) => resolve({ error, response }),
    );
  });
}

type Handlers = Parameters<typeof asyncService<typeof ProjectServiceService>>[1];

describe("asyncService", () => {
  it("keeps the trailing metadata of a thrown status, as grpc-js's callback does", async () => {
    const trailers = new Metadata();
    trailers.set("retry-after-ms", "250");
    const client = await serve(
      asyncService(ProjectServiceService, {
        async deleteProject() {
          throw { code: status.UNAVAILABLE, details: "try later", metadata: trailers };
        },
      } as unknown as Handlers),
    );
    const { error } = await deleteProject(client);
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "try later"]);
    expect(error?.metadata.get("retry-after-ms")).toStrictEqual(["250"]);
  });

  it("serves handlers that are methods of a class instance, called on that instance", async () => {
    // Type-checks as AsyncServiceImplementation without a cast; its methods live on the prototype.
    class Projects implements AsyncServiceImplementation<typeof ProjectServiceService> {
      readonly deleted: string[] = [];
      async deleteProject(call: ServerUnaryCall<DeleteProjectRequest, DeleteProjectResponse>) {
        this.deleted.push(call.request.id);
        return {};
      }
      createProject = unused;
      getProject = unused;
      updateProject = unused;
      addMember = unused;
      removeMember = unused;
      archiveProject = unused;
      importMembers = unused;
      syncMembers = unused;
      listMembers = unused;
    }
    const projects = new Projects();
    const client = await serve(asyncService(ProjectServiceService, projects));
    const { error } = await deleteProject(client, "p-7");
    expect(error).toBeNull();
    expect(projects.deleted).toStrictEqual(["p-7"]);
  });

  it("ends the call with INTERNAL for a library's error that only has a numeric code", async () => {
    // MongoServerError has codes 1 to 16 too (13 Unauthorized); its message names the database and user.
    class MongoServerError extends Error {
      readonly code = 13;
      readonly codeName = "Unauthorized";
    }
    const client = await serve(
      asyncService(ProjectServiceService, {
        async deleteProject() {
          throw new MongoServerError("not authorized on projects_prod as user svc@admin pw=Sup3r");
        },
      } as unknown as Handlers),
    );
    const { error } = await deleteProject(client);
    expect([error?.code, error?.details]).toStrictEqual([status.INTERNAL, "internal error"]);
  });

  it("keeps the status of an error thrown on purpose: with details, with Metadata, or a plain Error", async () => {
    class ServerError extends Error {
      constructor(
        readonly code: number,
        readonly details: string,
      ) {
        super(details);
      }
    }
    const thrown: Record<string, unknown> = {
      "p-details": new ServerError(status.NOT_FOUND, "no such project"),
      "p-metadata": Object.assign(new (class extends Error {})("try later"), {
        code: status.UNAVAILABLE,
        metadata: new Metadata(),
      }),
      "p-plain": Object.assign(new Error("denied"), { code: status.PERMISSION_DENIED }),
    };
    const client = await serve(
      asyncService(ProjectServiceService, {
        async deleteProject(call: ServerUnaryCall<DeleteProjectRequest, DeleteProjectResponse>) {
          throw thrown[call.request.id];
        },
      } as unknown as Handlers),
    );
    const got = [];
    for (const id of Object.keys(thrown)) {
      const { error } = await deleteProject(client, id);
      got.push([error?.code, error?.details]);
    }
    expect(got).toStrictEqual([
      [status.NOT_FOUND, "no such project"],
      [status.UNAVAILABLE, "try later"],
      [status.PERMISSION_DENIED, "denied"],
    ]);
  });

  it("ends the call with INTERNAL for another service's error a handler let through, without its trailers", async () => {
    // The usual `return await other.call()` without a catch: grpc-js's client error holds the other
    // service's details and trailers, which name its insides.
    const downstream = await serve({
      deleteProject(_call: unknown, callback: (error: Partial<ServiceError>) => void) {
        const trailers = new Metadata();
        trailers.set("x-internal-db", "pg-primary.internal:5432");
        callback({
          code: status.FAILED_PRECONDITION,
          details: "row lock held by pid 4711",
          metadata: trailers,
        });
      },
    });
    const client = await serve(
      asyncService(ProjectServiceService, {
        async deleteProject(call: ServerUnaryCall<DeleteProjectRequest, DeleteProjectResponse>) {
          const { error } = await deleteProject(downstream);
          if (call.request.id === "forward" && error !== null)
            throw { code: error.code, details: error.details }; // forwarded on purpose
          throw error;
        },
      } as unknown as Handlers),
    );
    const passed = await deleteProject(client, "p-1");
    expect([passed.error?.code, passed.error?.details]).toStrictEqual([status.INTERNAL, "internal error"]);
    expect(passed.error?.metadata.get("x-internal-db")).toStrictEqual([]);
    const forwarded = await deleteProject(client, "forward");
    expect([forwarded.error?.code, forwarded.error?.details]).toStrictEqual([
      status.FAILED_PRECONDITION,
      "row lock held by pid 4711",
    ]);
  });

  it("tells onInternalError each error it ends a call with INTERNAL for, never a status thrown on purpose", async () => {
    const told: [unknown, string][] = [];
    const bug = new Error("connect ECONNREFUSED 10.1.2.3:5432");
    const client = await serve(
      asyncService(
        ProjectServiceService,
        {
          async deleteProject(call: ServerUnaryCall<DeleteProjectRequest, DeleteProjectResponse>) {
            if (call.request.id === "status") throw { code: status.NOT_FOUND, details: "no such project" };
            throw bug;
          },
        } as unknown as Handlers,
        {
          onInternalError: (error, method) => {
            told.push([error, method]);
            throw new Error("a logger that fails"); // ignored: the call still ends with its status
          },
        },
      ),
    );
    const failed = await deleteProject(client, "p-1");
    expect([failed.error?.code, failed.error?.details]).toStrictEqual([status.INTERNAL, "internal error"]);
    const refused = await deleteProject(client, "status");
    expect(refused.error?.code).toBe(status.NOT_FOUND);
    expect(told).toStrictEqual([[bug, "/example.v1.ProjectService/DeleteProject"]]);
  });

  it("does not tell onInternalError of a handler whose request messages the deadline cut off", async () => {
    const told: unknown[] = [];
    let handlerDone = (_thrown: unknown) => {};
    const thrownByLoop = new Promise<unknown>((resolve) => (handlerDone = resolve));
    const { port } = await serveOnPort(
      asyncService(
        ProjectServiceService,
        {
          async importMembers(call: AsyncIterable<AddMemberRequest>) {
            try {
              for await (const _ of call); // the client never ends its messages
              handlerDone(undefined);
              return { projectId: "p-1", imported: 0 };
            } catch (error) {
              handlerDone(error);
              throw error;
            }
          },
        } as unknown as Handlers,
        { onInternalError: (error) => told.push(error) },
      ),
    );
    const message = AddMemberRequest.encode({ projectId: "p-1", userId: "u", role: "viewer" }).finish();
    const path = "/example.v1.ProjectService/ImportMembers";
    expect(await leftOpenCall(port, path, message, 300, "cut")).toBe(status.DEADLINE_EXCEEDED);
    // The loop was cut off: grpc-js destroyed the call's stream at the deadline.
    expect(await thrownByLoop).toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
    await new Promise((resolve) => setImmediate(resolve)); // the rejection's handler runs after the handler
    expect(told).toStrictEqual([]);
  });

  it("refuses options it does not know, and an onInternalError that is not a function", () => {
    expect(() =>
      asyncService(ProjectServiceService, {} as Handlers, { onInternalErrors: () => {} } as never),
    ).toThrow("asyncService: unknown option `onInternalErrors` (did you mean `onInternalError`?)");
    expect(() =>
      asyncService(ProjectServiceService, {} as Handlers, { onInternalError: 5 } as never),
    ).toThrow("asyncService: `onInternalError` must be a function");
  });

  it("ends the call with INTERNAL when the rejection value cannot even be read", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const client = await serve(
        asyncService(ProjectServiceService, {
          async deleteProject() {
            throw proxy;
          },
        } as unknown as Handlers),
      );
      const { error } = await deleteProject(client);
      expect([error?.code, error?.details]).toStrictEqual([status.INTERNAL, "internal error"]);
      expect(unhandled).toStrictEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
