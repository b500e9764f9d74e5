// The audit id back to the caller: every response of an audited call carries the call's request id
// (the caller's x-request-id, else the generated one) in a response header, seen by a real grpc-js
// client for all four call kinds and for refused calls (whose status is the whole response).
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer } from "../helpers/project-server.js";

type Kind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";
const KINDS: readonly Kind[] = ["unary", "server_streaming", "client_streaming", "bidi_streaming"];

/** What the client saw: the response headers (undefined when none came), and the status. */
interface Seen {
  headers: Metadata | undefined;
  code: status;
  trailers: Metadata;
}

/** Calls the ProjectService method of `kind` that alice may call, and collects what the client saw. */
function call(server: ProjectServer, kind: Kind, metadata: Metadata): Promise<Seen> {
  const { client } = server;
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const watch = (stream: NodeJS.EventEmitter) => {
      stream.on("metadata", (received: Metadata) => {
        headers = received;
      });
      stream.on("data", () => {});
      stream.on("error", () => {});
      stream.on("status", (end: { code: status; metadata: Metadata }) =>
        resolve({ headers, code: end.code, trailers: end.metadata }),
      );
    };
    if (kind === "unary") {
      watch(client.deleteProject({ id: "p-1" }, metadata, (_error: ServiceError | null) => {}));
    } else if (kind === "server_streaming") {
      watch(client.archiveProject({ projectId: "p-1" }, metadata));
    } else if (kind === "client_streaming") {
      const stream = client.importMembers(metadata, () => {});
      watch(stream);
      stream.write({ projectId: "p-1", userId: "u-1", role: "viewer" });
      stream.end();
    } else {
      const stream = client.syncMembers(metadata);
      watch(stream);
      stream.write({ member: { memberId: 7, projectId: "p-1", userId: "u-1", role: "viewer" } });
      stream.end();
    }
  });
}

describe("the request id goes back to the caller", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const fake = createFakeAuthorizer(
    ["owner", "editor"]
      .map((relation) => `user:alice|${relation}|project:p-1`)
      .concat("user:alice|admin|project:global"),
  );
  let key: SigningKey;
  let server: ProjectServer;
  let custom: ProjectServer;
  let none: ProjectServer;
  const tokens: Record<string, string> = {};
  const interceptors = (requestIdHeader?: string | false) =>
    createAuditInterceptors({
      recorder,
      rules: auditRules,
      authn: { authenticators: [jwtAuthenticatorFor(key)] },
      authz: { authorizer: fake.authorizer, rules: authzRules },
      ...(requestIdHeader === undefined ? {} : { requestIdHeader }),
    });

  beforeAll(async () => {
    key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    server = await startProjectServer(interceptors());
    custom = await startProjectServer(interceptors("x-audit-id"));
    none = await startProjectServer(interceptors(false));
  });
  afterAll(() => Promise.all([server, custom, none].map((s) => s.close())));

  const as = (user: string | undefined, requestId?: string) => {
    const metadata = new Metadata();
    if (user !== undefined) metadata.set("authorization", `Bearer ${tokens[user]}`);
    if (requestId !== undefined) metadata.set("x-request-id", requestId);
    metadata.set("x-project-id", "p-1");
    return metadata;
  };

  it.each(KINDS)("%s: an answered call has the caller's request id in its response headers", async (kind) => {
    const seen = await call(server, kind, as("alice", `ok-${kind}`));
    expect(seen.code).toBe(status.OK);
    expect(seen.headers?.get("x-request-id")).toStrictEqual([`ok-${kind}`]);
  });

  it.each(KINDS)("%s: a call refused by authn carries it in its status, the whole response", async (kind) => {
    const seen = await call(server, kind, as(undefined, `refused-${kind}`));
    expect(seen.code).toBe(status.UNAUTHENTICATED);
    expect(seen.trailers.get("x-request-id")).toStrictEqual([`refused-${kind}`]);
  });

  it.each(KINDS)("%s: a call denied by authz carries it too", async (kind) => {
    const seen = await call(server, kind, as("bob", `denied-${kind}`));
    expect(seen.code).toBe(status.PERMISSION_DENIED);
    expect(seen.trailers.get("x-request-id")).toStrictEqual([`denied-${kind}`]);
  });

  it("without an x-request-id, the caller gets the generated id its events carry", async () => {
    memory.clear();
    const seen = await call(server, "unary", as("alice"));
    const [sent] = seen.headers?.get("x-request-id") ?? [];
    expect(sent).toMatch(/^[0-9a-f-]{36}$/);
    const events = await memory.waitForCount(3); // authn, authz, mutation
    expect(new Set(events.map((event) => event.requestId))).toStrictEqual(new Set([sent]));
  });

  it("uses the header name given, and sends none with false", async () => {
    const named = await call(custom, "unary", as("alice", "named"));
    expect([named.headers?.get("x-audit-id"), named.headers?.get("x-request-id")]).toStrictEqual([
      ["named"],
      [],
    ]);
    const refused = await call(none, "unary", as(undefined, "quiet"));
    const answered = await call(none, "unary", as("alice", "quiet"));
    expect([refused.trailers.get("x-request-id"), answered.headers?.get("x-request-id")]).toStrictEqual([
      [],
      [],
    ]);
  });

  it.each(["X-Request-Id", "grpc-request-id", "request-id-bin", "", "a b"])(
    "refuses %j as the header name",
    (name) => {
      expect(() => createAuditInterceptors({ recorder, rules: auditRules, requestIdHeader: name })).toThrow(
        AuditConfigError,
      );
    },
  );
});
