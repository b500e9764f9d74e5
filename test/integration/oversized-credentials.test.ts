// What the README says about credentials too large for HTTP/2 (section "Development", limits): Node's
// HTTP/2 layer (nghttp2) refuses a request whose single header field is larger than 64 KiB in its
// HPACK-encoded (Huffman) form, before grpc-js makes a call of it: no interceptor runs, nothing is
// recorded, and the client sees INTERNAL "Received RST_STREAM with code 9" (COMPRESSION_ERROR). A
// token below the limit reaches authn and is recorded as any bad token is.
import { randomBytes } from "node:crypto";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuthnFailureReason } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

/** A JWT-looking bearer token of `length` random base64url characters (they do not compress much). */
function bearer(length: number, requestId: string): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  metadata.set("authorization", `Bearer ${randomBytes(length).toString("base64url").slice(0, length)}`);
  return metadata;
}

describe("credentials larger than the HTTP/2 header field limit", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let server: ProjectServer;

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["ES256"],
    });
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
  });
  afterAll(() => server.close());

  const create = (metadata: Metadata) =>
    unary(server.client.createProject.bind(server.client), { name: "n" }, metadata);

  it("never reach an interceptor: the client gets INTERNAL and nothing is recorded", async () => {
    memory.clear();
    const [error] = await create(bearer(128 * 1024, "req-big"));
    expect([error?.code, error?.details]).toStrictEqual([status.INTERNAL, "Received RST_STREAM with code 9"]);
    // The connection stays usable. A call that reaches the audit scope is recorded before its status is
    // sent, so once the next call's event is in, the first one would be too.
    const [next] = await create(bearer(100, "req-next"));
    expect(next?.code).toBe(status.UNAUTHENTICATED);
    await memory.waitForCount(1);
    expect(memory.events.map((event) => event.requestId)).toStrictEqual(["req-next"]);
    expect(server.seenScopes).toHaveLength(0);
  });

  it("below the limit reach authn and are refused and recorded as malformed", async () => {
    memory.clear();
    const [error] = await create(bearer(60 * 1024, "req-60k"));
    expect(error?.code).toBe(status.UNAUTHENTICATED);
    const [event] = await memory.waitForCount(1);
    expect([event?.requestId, event?.detail]).toStrictEqual([
      "req-60k",
      {
        $case: "authn",
        value: {
          method: "jwt",
          success: false,
          failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_MALFORMED,
        },
      },
    ]);
  });
});
