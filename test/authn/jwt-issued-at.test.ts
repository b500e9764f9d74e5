// The JWT authenticator and `iat`: a token issued later than now (beyond the clock tolerance) is not
// valid yet, as docs/authn-authz.md says of exp, nbf and iat.
import { Metadata } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";

// JwtAuthenticatorOptions.clockToleranceSec and docs/authn-authz.md: "Allowed clock skew for `exp`,
// `nbf` and `iat`", and jwt-errors.ts maps an `iat` failure to "not_yet_valid". jose checks `iat`
// against the clock only when `maxTokenAge` is given, which the authenticator never passes: a token
// issued a day in the future was accepted.
describe("the JWT authenticator and `iat`", () => {
  const NOW = 1_900_000_000;
  let key: SigningKey;
  let jwt: Authenticator;
  beforeAll(async () => {
    key = await newSigningKey("k1", "ES256");
    jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["ES256"],
      cache: false,
      now: () => new Date(NOW * 1000),
    });
  });
  const check = async (token: string) => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return jwt.authenticate(metadata, { method: "/m", peer: "" });
  };

  it("refuses a token issued beyond the clock tolerance in the future as not_yet_valid", async () => {
    const token = await signToken(key, { iat: NOW + 86_400, exp: NOW + 2 * 86_400 }, { nowSec: NOW });
    expect(await check(token)).toStrictEqual({ kind: "refused", reason: "not_yet_valid" });
  });

  it("accepts a token issued in the future within the clock tolerance (30 s)", async () => {
    const token = await signToken(key, { iat: NOW + 25, exp: NOW + 3600 }, { nowSec: NOW });
    expect((await check(token)).kind).toBe("authenticated");
  });
});
