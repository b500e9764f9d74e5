/**
 * A `jwksUrl` with a user name or password in it (`https://user:secret@id.example/jwks`) can never be
 * fetched: fetch refuses such URLs, so every token would be refused as "error", call after call, with
 * nothing saying why. It is refused when the authenticator is created, naming the option, never
 * quoting the URL (it holds a credential).
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, serveJwks, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };
const PASSWORD = "s3cr3t-jwks-password";

describe("JWT authenticator: a jwksUrl with credentials", () => {
  let key: SigningKey;
  let jwks: Awaited<ReturnType<typeof serveJwks>>;
  beforeAll(async () => {
    key = await newSigningKey("k1");
    jwks = await serveJwks(() => key.jwks);
  });
  afterAll(() => jwks.close());

  const withCredentials = (userinfo: string) => {
    const url = new URL(jwks.url);
    return `${url.protocol}//${userinfo}@${url.host}${url.pathname}`;
  };

  it.each([
    ["user and password", `svc:${PASSWORD}`],
    ["password only", `:${PASSWORD}`],
    ["user only", PASSWORD],
  ])("is refused at creation (%s), without quoting the URL", (_name, userinfo) => {
    let thrown: unknown;
    try {
      createJwtAuthenticator({
        jwksUrl: withCredentials(userinfo),
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditConfigError);
    const error = thrown as AuditConfigError;
    expect(error.message).toContain("`jwksUrl`");
    expect(`${error.message} ${error.stack} ${String(error.cause)}`).not.toContain(PASSWORD);
  });

  it("a URL without credentials still verifies a token against the served key set", async () => {
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
