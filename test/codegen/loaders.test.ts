// The committed rule tables of the example service (src/cli/demo/gen/example/v1/projects_audit.ts) over real
// loopback gRPC, with the same proto served by ts-proto's generated service and by @grpc/proto-loader
// (keepCase: true gives snake_case properties; its default gives protobuf.js camelCase; `longs` picks
// how 64-bit integers arrive). Every loader must record the same target and object ids.
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../helpers/jwt.js";
import { type Loader, NEW_MEMBER_ID, startLoaderServer } from "./loader-server.js";

const LOADERS: [name: string, loader: Loader][] = [
  ["ts-proto", { kind: "ts-proto" }],
  ["proto-loader keepCase (64-bit ints as Long)", { kind: "proto-loader", options: { keepCase: true } }],
  [
    "proto-loader keepCase, longs: String",
    { kind: "proto-loader", options: { keepCase: true, longs: String } },
  ],
  ["proto-loader default camelCase (Long)", { kind: "proto-loader", options: {} }],
  ["proto-loader default camelCase, longs: Number", { kind: "proto-loader", options: { longs: Number } }],
];

/** A member id above 2^32 sent in requests: a Long needs both halves to render it. */
const MEMBER_ID = 98765432109;

describe.each(LOADERS)("generated rules with %s messages", (_name, loader) => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const fake = createFakeAuthorizer([
    "user:alice|editor|project:p-1",
    "user:alice|owner|project:p-1",
    "user:alice|admin|project:global",
  ]);
  let server: { port: number; close(): Promise<void> };
  let client: ProjectServiceClient;
  const metadata = new Metadata();

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    metadata.set("authorization", `Bearer ${await signToken(key, { sub: "alice" })}`);
    metadata.set("x-project-id", "p-1"); // ImportMembers' authz object id
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["ES256"],
    });
    server = await startLoaderServer(
      loader,
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwt] },
        // CreateProject has no authz rule: let it through, so its mutation is recorded too.
        authz: { authorizer: fake.authorizer, rules: authzRules, missingRule: "allow" },
      }),
    );
    client = new ProjectServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("records every call's target id and object id, integer ids as decimal strings", async () => {
    const done = (resolve: (error: ServiceError | null) => void) => (error: ServiceError | null) =>
      resolve(error);
    const errors = await Promise.all([
      new Promise((r) => client.createProject({ name: "n" }, metadata, done(r))),
      new Promise((r) =>
        client.updateProject({ project: { id: "p-1", name: "n", ownerId: "" } }, metadata, done(r)),
      ),
      new Promise((r) => client.deleteProject({ id: "p-1" }, metadata, done(r))),
      new Promise((r) =>
        client.addMember({ projectId: "p-1", userId: "bob", role: "viewer" }, metadata, done(r)),
      ),
      new Promise((r) => client.removeMember({ projectId: "p-1", memberId: MEMBER_ID }, metadata, done(r))),
      new Promise((resolve) => {
        const call = client.archiveProject({ projectId: "p-1" }, metadata);
        call.on("data", () => {});
        call.on("error", resolve);
        call.on("end", () => resolve(null));
      }),
      new Promise((r) => {
        const call = client.importMembers(metadata, done(r));
        call.write({ projectId: "p-1", userId: "bob", role: "viewer" });
        call.end();
      }),
      new Promise((resolve) => {
        const call = client.syncMembers(metadata);
        call.on("data", () => {});
        call.on("error", resolve);
        call.on("end", () => resolve(null));
        call.write({ member: { memberId: MEMBER_ID, projectId: "p-1", userId: "bob", role: "admin" } });
        call.end();
      }),
    ]);
    expect(errors).toEqual(Array(8).fill(null));

    // Per call one authn, one authz and one mutation event.
    await memory.waitForCount(24);
    const byMethod = (type: EventType, read: (event: AuditEvent) => string) =>
      Object.fromEntries(memory.filter({ eventType: type }).map((e) => [e.operation.split("/")[2], read(e)]));
    expect(byMethod(EventType.EVENT_TYPE_RESOURCE_MUTATION, (e) => e.target?.id ?? "?")).toEqual({
      CreateProject: "p-new",
      UpdateProject: "p-1",
      DeleteProject: "p-1",
      AddMember: NEW_MEMBER_ID,
      RemoveMember: String(MEMBER_ID),
      ArchiveProject: "p-1",
      ImportMembers: "p-1",
      SyncMembers: String(MEMBER_ID),
    });
    const objectId = (e: AuditEvent) => (e.detail?.$case === "authz" ? e.detail.value.objectId : "?");
    expect(byMethod(EventType.EVENT_TYPE_AUTHZ_DECISION, objectId)).toEqual({
      CreateProject: "", // no rule
      UpdateProject: "p-1",
      DeleteProject: "p-1",
      AddMember: "p-1",
      RemoveMember: "p-1",
      ArchiveProject: "p-1",
      ImportMembers: "p-1",
      SyncMembers: "global",
    });
  });
});
