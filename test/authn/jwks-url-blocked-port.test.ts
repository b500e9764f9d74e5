/**
 * fetch refuses to connect to a "bad port" (WHATWG Fetch: 10080, 6000, 6665-6669, 5060, …) before it
 * sends anything, so a `jwksUrl` on one could never be fetched: every token would be refused as
 * "error" with a bare TypeError, the identity provider never contacted. It is refused when the
 * authenticator is created, naming the option and the port.
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, serveJwks, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

function creationError(jwksUrl: string): unknown {
  try {
    createJwtAuthenticator({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("JWT authenticator: a jwksUrl on a port fetch refuses", () => {
  // Before the fix: each was created, and every token was then refused as "error" ("…: TypeError").
  it.each([
    "http://127.0.0.1:10080/jwks",
    "https://id.example.test:6000/jwks",
    "http://[::1]:6667/jwks",
    "https://id.example.test:5060/.well-known/jwks.json",
    "http://localhost:1/jwks",
  ])("refuses %s at creation, naming the port", (url) => {
    const thrown = creationError(url);
    expect(thrown).toBeInstanceOf(AuditConfigError);
    const port = new URL(url).port;
    expect((thrown as AuditConfigError).message).toBe(
      `jwt authenticator: \`jwksUrl\` port ${port} is one fetch refuses to connect to; serve the key set on another port`,
    );
  });

  it.each([
    "https://id.example.test/jwks",
    "https://id.example.test:443/jwks",
    "http://id.example.test:80/jwks",
    "https://id.example.test:8443/jwks",
  ])("accepts %s", (url) => {
    expect(creationError(url)).toBeUndefined();
  });

  describe("on a port fetch allows", () => {
    let key: SigningKey;
    let jwks: Awaited<ReturnType<typeof serveJwks>>;
    beforeAll(async () => {
      key = await newSigningKey("k1");
      jwks = await serveJwks(() => key.jwks);
    });
    afterAll(() => jwks.close());

    it("verifies a token against the served key set", async () => {
      const remote = createJwtAuthenticator({
        jwksUrl: jwks.url,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
      });
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${await signToken(key)}`);
      expect((await remote.authenticate(metadata, CALL)).kind).toBe("authenticated");
    });
  });
});
