// `grpc-audit/demo` exports the demo's example service for tests: wired as its documentation shows,
// with the package's interceptors, over real loopback gRPC, it serves and authorizes calls and the
// recorder gets the events its rule tables ask for.
import { credentials, Metadata, Server, type ServiceError, status } from "@grpc/grpc-js";
import { type Authenticator, createAuditInterceptors, createRecorder } from "grpc-audit";
import {
  auditRules,
  authzRules,
  createInProcessTuples,
  demoProjectService,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "grpc-audit/demo";
import { createMemoryEmitter } from "grpc-audit/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

/** Trusts "Bearer <name>" as the caller <name>: the test is about the service, not about tokens. */
const byName: Authenticator = {
  method: "test",
  authenticate(metadata) {
    const name = /^Bearer (\w+)$/.exec(String(metadata.get("authorization")[0] ?? ""))?.[1];
    return name === undefined ? { kind: "absent" } : { kind: "authenticated", actor: { id: name } };
  },
};

const emitter = createMemoryEmitter();
const recorder = createRecorder({ service: "example.projects", emitters: [emitter] });
const tuples = createInProcessTuples(recorder);
const server = new Server({
  interceptors: createAuditInterceptors({
    recorder,
    rules: [auditRules],
    authn: { authenticators: [byName] },
    authz: { authorizer: tuples.authorizer, rules: [authzRules], missingRule: "allow" },
  }),
});
server.addService(ProjectServiceService, demoProjectService(tuples));
let client: ProjectServiceClient;

beforeAll(async () => {
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await stopServer(server);
  await recorder.close();
});

const as = (name: string) => {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${name}`);
  return metadata;
};

it("serves the example ProjectService: the creator owns the project, others are denied", async () => {
  const created = await new Promise<Project>((resolve, reject) =>
    client.createProject({ name: "zeus" }, as("alice"), (error, project) =>
      error ? reject(error) : resolve(project),
    ),
  );
  expect(created).toStrictEqual({ id: "p-1", name: "zeus", ownerId: "alice" });
  const read = await new Promise<Project>((resolve, reject) =>
    client.getProject({ id: "p-1" }, as("alice"), (error, project) =>
      error ? reject(error) : resolve(project),
    ),
  );
  expect(read).toStrictEqual(created);
  const denied = await new Promise<number | undefined>((resolve) =>
    client.deleteProject({ id: "p-1" }, as("bob"), (error: ServiceError | null) => resolve(error?.code)),
  );
  expect(denied).toBe(status.PERMISSION_DENIED);

  await recorder.flush();
  const summary = emitter.events
    .filter((e) => e.eventType !== EventType.EVENT_TYPE_AUTHN_RESULT)
    .map((e) => [e.eventType, e.actor?.id, e.operation.split("/").pop(), e.result?.code, e.target?.id]);
  expect(summary).toStrictEqual([
    // CreateProject has no authz rule: allowed by missingRule "allow", recorded without a target.
    [EventType.EVENT_TYPE_AUTHZ_DECISION, "alice", "CreateProject", "OK", ""],
    [EventType.EVENT_TYPE_TUPLE_CHANGED, "alice", "CreateProject", "OK", "p-1"],
    [EventType.EVENT_TYPE_RESOURCE_MUTATION, "alice", "CreateProject", "OK", "p-1"],
    [EventType.EVENT_TYPE_RESOURCE_ACCESS, "alice", "GetProject", "OK", "p-1"],
    [EventType.EVENT_TYPE_AUTHZ_DECISION, "bob", "DeleteProject", "PERMISSION_DENIED", "p-1"],
  ]);
});

it("ImportMembers refuses a message naming another project than the one authz checked (x-project-id)", async () => {
  const create = (caller: string, name: string) =>
    new Promise<Project>((resolve, reject) =>
      client.createProject({ name }, as(caller), (error, project) =>
        error ? reject(error) : resolve(project),
      ),
    );
  const mine = await create("mallory", "mine");
  const victim = await create("victor", "victim");
  const metadata = as("mallory");
  metadata.set("x-project-id", mine.id);
  const code = await new Promise<number | undefined>((resolve) => {
    const stream = client.importMembers(metadata, (error: ServiceError | null) => resolve(error?.code));
    stream.write({ projectId: mine.id, userId: "friend", role: "viewer" });
    stream.write({ projectId: victim.id, userId: "mallory2", role: "editor" });
    stream.end();
  });
  expect(code).toBe(status.INVALID_ARGUMENT);
  // The project authz never checked mallory on got no member, and no role tuple.
  const allowed = await tuples.authorizer.check({
    user: "user:mallory2",
    relation: "editor",
    object: `project:${victim.id}`,
  });
  expect(allowed).toMatchObject({ kind: "denied" });
  const members = await new Promise<unknown[]>((resolve, reject) => {
    const found: unknown[] = [];
    const stream = client.listMembers({ projectId: victim.id }, as("victor"));
    stream.on("data", (member) => found.push(member));
    stream.on("error", reject);
    stream.on("end", () => resolve(found));
  });
  expect(members).toStrictEqual([]);
});
