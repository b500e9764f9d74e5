import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Authenticator } from "../../authn/authenticator.js";
import { createJwtAuthenticator } from "../../authn/jwt-authenticator.js";

const ISSUER = "https://id.demo.grpc-audit.invalid/";
const AUDIENCE = "projects-api";
const KEY_ID = "demo-key-1";

/** The demo's identity provider: an RS256 key pair made for this run, and the JWT authenticator that trusts it. */
export interface DemoIdentity {
  authenticator: Authenticator;
  /** A token for `sub`, valid for an hour; `expired` makes one that expired an hour ago. */
  token(sub: string, name: string, options?: { expired?: boolean }): Promise<string>;
}

/** Generates a key pair and publishes its public half to the authenticator as a local JWKS. */
export async function createDemoIdentity(): Promise<DemoIdentity> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: KEY_ID, alg: "RS256", use: "sig" };
  const authenticator = createJwtAuthenticator({
    jwks: { keys: [jwk] },
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256"],
  });
  return {
    authenticator,
    token(sub, name, options = {}) {
      const nowSec = Math.floor(Date.now() / 1000);
      const issuedAt = options.expired === true ? nowSec - 7200 : nowSec;
      return new SignJWT({ name, email: `${sub}@example.com` })
        .setProtectedHeader({ alg: "RS256", kid: KEY_ID })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 3600)
        .sign(privateKey);
    },
  };
}
