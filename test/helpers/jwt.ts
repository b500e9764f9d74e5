import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  SignJWT,
} from "jose";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";

export const ISSUER = "https://id.example.test/";
export const AUDIENCE = "projects-api";

/** A signing key with its public JWK, as an identity provider would hold it. */
export interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256" | "HS256";
  privateKey: CryptoKey | Uint8Array;
  jwks: JSONWebKeySet;
}

export async function newSigningKey(kid: string, alg: "RS256" | "ES256" = "RS256"): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, jwks: { keys: [jwk] } };
}

/** A JWT authenticator trusting `key`'s key set, for the test issuer and audience. */
export function jwtAuthenticatorFor(key: SigningKey): Authenticator {
  return createJwtAuthenticator({
    jwks: key.jwks,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: [key.alg],
  });
}

/** Signs a real JWT; `claims` override the defaults (alice, valid for an hour from `nowSec`). */
export async function signToken(
  key: SigningKey,
  claims: JWTPayload = {},
  options: { nowSec?: number; kid?: string; alg?: string; withoutSubject?: boolean } = {},
): Promise<string> {
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ name: "Alice", email: "alice@example.com", azp: "web", ...claims });
  if (!options.withoutSubject) jwt.setSubject((claims.sub as string | undefined) ?? "alice");
  return jwt
    .setProtectedHeader({ alg: options.alg ?? key.alg, kid: options.kid ?? key.kid })
    .setIssuer((claims.iss as string | undefined) ?? ISSUER)
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setIssuedAt((claims.iat as number | undefined) ?? now)
    .setExpirationTime((claims.exp as number | undefined) ?? now + 3600)
    .sign(key.privateKey);
}

/** A loopback HTTP server publishing a JWKS, as an identity provider's jwks_uri does. Counts fetches. */
export async function serveJwks(
  jwks: () => JSONWebKeySet,
): Promise<{ url: string; fetches: () => number; close(): Promise<void> }> {
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
