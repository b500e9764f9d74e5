// An HS algorithm listed beside a key set (`jwks` or `jwksUrl`) is refused when the authenticator is
// created: jose takes no HMAC secret from a key set, so it verified no HS token, and before the fix
// anyone's unsigned `{"alg":"HS256"}` token paused the remote key set (key rotation held off).
import { randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from "../../src/authn/jwt-authenticator.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, serveJwks } from "../helpers/jwt.js";

const REASON = "a key set holds public keys only (jose refuses secrets from one); give the secret as `key`";

let idp: Awaited<ReturnType<typeof serveJwks>> | undefined;
afterEach(async () => {
  await idp?.close();
  idp = undefined;
});

function creationError(options: Partial<JwtAuthenticatorOptions>): string {
  try {
    createJwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"], ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return (error as Error).message;
  }
  return "created";
}

describe("JWT authenticator: HS algorithms beside a key set", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await newSigningKey("k1");
  });

  it("refuses them with a `jwksUrl`, which is never fetched", async () => {
    idp = await serveJwks(() => key.jwks);
    expect(creationError({ jwksUrl: idp.url, algorithms: ["RS256", "HS256"] })).toBe(
      `jwt authenticator: \`algorithms\` HS256 cannot verify with a key set: ${REASON}`,
    );
    expect(creationError({ jwksUrl: idp.url, algorithms: ["HS384", "ES256", "HS512"] })).toBe(
      `jwt authenticator: \`algorithms\` HS384, HS512 cannot verify with a key set: ${REASON}`,
    );
    expect(idp.fetches()).toBe(0);
    expect(creationError({ jwksUrl: idp.url, algorithms: ["RS256", "ES256"] })).toBe("created");
  });

  it("refuses them with a local `jwks` of public keys", () => {
    expect(creationError({ jwks: key.jwks, algorithms: ["HS256", "RS256"] })).toBe(
      `jwt authenticator: \`algorithms\` HS256 cannot verify with a key set: ${REASON}`,
    );
    expect(creationError({ jwks: key.jwks, algorithms: ["RS256"] })).toBe("created");
  });

  it("still takes them with an HMAC secret as `key`", () => {
    expect(creationError({ key: randomBytes(32), algorithms: ["HS256"] })).toBe("created");
  });
});
