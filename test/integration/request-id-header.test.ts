// The audit id back to the caller: every response of an audited call carries the call's request id
// (the caller's x-request-id, else the generated one) in a response header, seen by a real grpc-js
// client for all four call kinds and for refused calls (whose status is the whole response).
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { CALL_KINDS, callOfKind, type ProjectServer, startProjectServer } from "../helpers/project-server.js";

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

  it.each(CALL_KINDS)(
    "%s: an answered call has the caller's request id in its response headers",
    async (kind) => {
      const seen = await callOfKind(server.client, kind, as("alice", `ok-${kind}`));
      expect(seen.code).toBe(status.OK);
      expect(seen.headers?.get("x-request-id")).toStrictEqual([`ok-${kind}`]);
    },
  );

  it.each(CALL_KINDS)(
    "%s: a call refused by authn carries it in its status, the whole response",
    async (kind) => {
      const seen = await callOfKind(server.client, kind, as(undefined, `refused-${kind}`));
      expect(seen.code).toBe(status.UNAUTHENTICATED);
      expect(seen.trailers.get("x-request-id")).toStrictEqual([`refused-${kind}`]);
    },
  );

  it.each(CALL_KINDS)("%s: a call denied by authz carries it too", async (kind) => {
    const seen = await callOfKind(server.client, kind, as("bob", `denied-${kind}`));
    expect(seen.code).toBe(status.PERMISSION_DENIED);
    expect(seen.trailers.get("x-request-id")).toStrictEqual([`denied-${kind}`]);
  });

  it("without an x-request-id, the caller gets the generated id its events carry", async () => {
    memory.clear();
    const seen = await callOfKind(server.client, "unary", as("alice"));
    const [sent] = seen.headers?.get("x-request-id") ?? [];
    expect(sent).toMatch(/^[0-9a-f-]{36}$/);
    const events = await memory.waitForCount(3); // authn, authz, mutation
    expect(new Set(events.map((event) => event.requestId))).toStrictEqual(new Set([sent]));
  });

  it("uses the header name given, and sends none with false", async () => {
    const named = await callOfKind(custom.client, "unary", as("alice", "named"));
    expect([named.headers?.get("x-audit-id"), named.headers?.get("x-request-id")]).toStrictEqual([
      ["named"],
      [],
    ]);
    const refused = await callOfKind(none.client, "unary", as(undefined, "quiet"));
    const answered = await callOfKind(none.client, "unary", as("alice", "quiet"));
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

  const refusal = (name: string, reason: string) =>
    new AuditConfigError(
      `createAuditInterceptors: \`requestIdHeader\` must be false or a response header name for the request id; "${name}" is refused: ${reason}`,
    );
  const connectionSpecific =
    "a connection-specific header, which Node's HTTP/2 refuses in a response (the first answer would crash the server)";

  // Node's HTTP/2 throws ERR_HTTP2_INVALID_CONNECTION_HEADERS at the first answer with one of these:
  // an uncaught exception out of grpc-js, which ended the server process.
  it.each([
    "te",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
  ])("refuses the connection-specific header %j at creation, with the reason", (name) => {
    expect(() => interceptors(name)).toThrow(refusal(name, connectionSpecific));
  });

  it.each([
    ["content-length", "a streamed gRPC response has none (every answered call would fail with INTERNAL)"],
    ["content-type", 'gRPC\'s own header, which must stay "application/grpc"'],
    [":status", "an HTTP/2 pseudo-header"],
    ["grpc-status", 'not a lowercase gRPC metadata key for text (0-9 a-z _ . -, not "grpc-…", not "…-bin")'],
  ])("refuses %j, which gRPC or HTTP/2 reserve, with the reason", (name, reason) => {
    expect(() => interceptors(name)).toThrow(refusal(name, reason));
  });

  // host and user-agent are request headers, yet legal in a response: a configuration using them works.
  it.each(["connection-id.x_1", "host", "user-agent"])(
    "takes the unusual but legal name %j end to end",
    async (name) => {
      const unusual = await startProjectServer(interceptors(name));
      try {
        memory.clear();
        const answered = await callOfKind(unusual.client, "server_streaming", as("alice", "unusual-ok"));
        const refused = await callOfKind(unusual.client, "unary", as(undefined, "unusual-refused"));
        expect([
          answered.code,
          answered.headers?.get(name),
          refused.code,
          refused.trailers.get(name),
        ]).toStrictEqual([status.OK, ["unusual-ok"], status.UNAUTHENTICATED, ["unusual-refused"]]);
      } finally {
        await unusual.close();
      }
    },
  );
});
