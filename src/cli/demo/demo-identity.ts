import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Authenticator } from "../../authn/authenticator.js";
import { createJwtAuthenticator } from "../../authn/jwt-authenticator.js";

const ISSUER = "https://id.demo.grpc-audit.invalid/";
const AUDIENCE = "projects-api";
const KEY_ID = "demo-key-1";

/** An identity provider whose tokens the demo also accepts (`--jwks-url`, `--issuer`, `--audience`). */
export interface ExternalIssuer {
  /** Where its public keys are (a JWKS, fetched by jose). */
  jwksUrl: string;
  /** The `iss` its tokens carry. */
  issuer: string;
  /** The `aud` its tokens must carry. */
  audience: string;
}

/** Signing algorithms accepted from an external issuer: the asymmetric ones (a JWKS publishes public keys). */
const EXTERNAL_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "EdDSA",
] as const;

/** The demo's identity provider: an RS256 key pair made for this run, and the JWT authenticator that trusts it. */
export interface DemoIdentity {
  authenticator: Authenticator;
  /** A token for `sub`, valid for an hour; `expired` makes one that expired an hour ago. */
  token(sub: string, name: string, options?: { expired?: boolean }): Promise<string>;
}

/**
 * Generates a key pair and publishes its public half to the authenticator as a local JWKS. With
 * `external`, the authenticator also accepts that issuer's tokens, verified against its JWKS URL.
 */
export async function createDemoIdentity(external?: ExternalIssuer): Promise<DemoIdentity> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: KEY_ID, alg: "RS256", use: "sig" };
  const own = createJwtAuthenticator({
    jwks: { keys: [jwk] },
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256"],
  });
  return {
    authenticator: external === undefined ? own : byIssuer(own, external),
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

/**
 * One authenticator for two issuers: a JWT authenticator refuses a token it cannot verify (it does not
 * pass it on), so the token's unverified `iss` picks which one verifies it. The demo's own tokens go to
 * the demo's keys; every other token, also one without a readable `iss`, to the external issuer's.
 */
function byIssuer(own: Authenticator, external: ExternalIssuer): Authenticator {
  const theirs = createJwtAuthenticator({
    jwksUrl: external.jwksUrl,
    issuer: external.issuer,
    audience: external.audience,
    algorithms: EXTERNAL_ALGORITHMS,
  });
  return {
    method: own.method,
    authenticate(metadata, call) {
      const token = /^Bearer +(\S+)$/i.exec(String(metadata.get("authorization")[0] ?? ""))?.[1];
      return (token !== undefined && issuerOf(token) === ISSUER ? own : theirs).authenticate(metadata, call);
    },
  };
}

function issuerOf(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}
