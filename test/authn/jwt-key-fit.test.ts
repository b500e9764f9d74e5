// A `key` that cannot verify the listed algorithms is refused when the authenticator is created, with
// an error naming the option and the key's type, never its material; a key that fits verifies real tokens.
import { createSecretKey, generateKeyPairSync, type KeyObject, webcrypto } from "node:crypto";
import { Metadata } from "@grpc/grpc-js";
import { type CryptoKey, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from "../../src/authn/jwt-authenticator.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { AUDIENCE, ISSUER } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaPss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 });
const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
const ed25519 = generateKeyPairSync("ed25519");

const options = (key: unknown, algorithms: string[]) =>
  ({ key, issuer: ISSUER, audience: AUDIENCE, algorithms }) as unknown as JwtAuthenticatorOptions;

function creationError(key: unknown, algorithms: string[]): string {
  try {
    createJwtAuthenticator(options(key, algorithms));
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return (error as Error).message;
  }
  return "created";
}

async function outcomeOf(verifyWith: unknown, alg: string, signWith: KeyObject | CryptoKey) {
  const jwt = createJwtAuthenticator(options(verifyWith, [alg]));
  const token = await new SignJWT({})
    .setProtectedHeader({ alg })
    .setSubject("alice")
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime("1h")
    .sign(signWith);
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return (await jwt.authenticate(metadata, CALL)).kind;
}

describe("JWT authenticator: a key that fits its algorithms", () => {
  // Before the fix: created, then every valid token was refused as "error" (read as an outage).
  it("refuses a private KeyObject, naming the option, not the key", () => {
    const message = creationError(rsa.privateKey, ["RS256"]);
    expect(message).toBe(
      "jwt authenticator: `key` is a private key: give the public key (such as `crypto.createPublicKey(privateKey)`)",
    );
  });

  // Before the fix: created, then every valid token was refused as "malformed" (blamed the client).
  it.each([
    ["an EC key for RS256", p256.publicKey, ["RS256"], "RS256", "a public ec P-256 key"],
    ["a P-256 key for ES384", p256.publicKey, ["ES256", "ES384"], "ES384", "a public ec P-256 key"],
    ["a P-384 key for ES256", p384.publicKey, ["ES256"], "ES256", "a public ec P-384 key"],
    ["an RSA key for ES256", rsa.publicKey, ["ES256"], "ES256", "a public rsa key"],
    ["an RSA-PSS key for RS256", rsaPss.publicKey, ["PS256", "RS256"], "RS256", "a public rsa-pss key"],
    ["an Ed25519 key for RS256", ed25519.publicKey, ["EdDSA", "RS256"], "RS256", "a public ed25519 key"],
    ["an RSA key for EdDSA", rsa.publicKey, ["EdDSA"], "EdDSA", "a public rsa key"],
  ])("refuses %s", (_, key, algorithms, misfit, description) => {
    expect(creationError(key, algorithms)).toBe(
      `jwt authenticator: \`algorithms\` ${misfit} cannot verify with \`key\` (${description}): list only the algorithms of \`key\``,
    );
  });

  it("refuses a CryptoKey without the verify usage, and a private CryptoKey", async () => {
    const pair = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const jwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
    const noVerify = await webcrypto.subtle.importKey(
      "jwk",
      { ...jwk, key_ops: [] },
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      [],
    );
    expect(creationError(noVerify, ["ES256"])).toBe(
      'jwt authenticator: `key` is a CryptoKey without the "verify" usage: import it with usages ["verify"]',
    );
    expect(creationError(pair.privateKey, ["ES256"])).toMatch(/`key` is a private key/);
    expect(creationError(pair.publicKey, ["ES384"])).toBe(
      "jwt authenticator: `algorithms` ES384 cannot verify with `key` (a public ECDSA CryptoKey): list only the algorithms of `key`",
    );
  });

  it("verifies real tokens with keys that fit", async () => {
    const ecPair = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const cases: [unknown, string, KeyObject | CryptoKey][] = [
      [rsa.publicKey, "RS256", rsa.privateKey],
      [rsa.publicKey, "PS256", rsa.privateKey],
      [p256.publicKey, "ES256", p256.privateKey],
      [p384.publicKey, "ES384", p384.privateKey],
      [ed25519.publicKey, "EdDSA", ed25519.privateKey],
      [ed25519.publicKey, "Ed25519", ed25519.privateKey],
      [ecPair.publicKey, "ES256", ecPair.privateKey as CryptoKey],
      [new Uint8Array(32).fill(7), "HS256", new Uint8Array(32).fill(7) as unknown as KeyObject],
    ];
    const kinds = [];
    for (const [verifyWith, alg, signWith] of cases)
      kinds.push(`${alg}:${await outcomeOf(verifyWith, alg, signWith)}`);
    expect(kinds).toStrictEqual(cases.map(([, alg]) => `${alg}:authenticated`));
  });
});

describe("JWT authenticator: an HMAC secret as long as its hash (RFC 7518 §3.2)", () => {
  const subtle = webcrypto.subtle;
  const jwk = (bytes: number, alg?: string) => ({
    kty: "oct",
    k: Buffer.alloc(bytes, 7).toString("base64url"),
    ...(alg === undefined ? {} : { alg }),
  });
  const withJwks = (jwks: unknown, algorithms: string[]) => {
    try {
      createJwtAuthenticator({
        jwks,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms,
      } as JwtAuthenticatorOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(AuditConfigError);
      return (error as Error).message;
    }
    return "created";
  };

  // Before the fix: created; a 4-byte key authenticated a token anyone could brute-force, an empty
  // one (an unset variable) refused every token as "error".
  it("refuses a short or empty secret, as bytes, a KeyObject or a CryptoKey, telling lengths only", async () => {
    const hmac16 = await subtle.importKey(
      "raw",
      new Uint8Array(16),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const cases: [unknown, string[], string][] = [
      [
        new Uint8Array(0),
        ["HS256"],
        "`key` is an empty HMAC secret (an unset variable?): HS256 needs at least 32 bytes",
      ],
      [
        new Uint8Array(4),
        ["HS256"],
        "`key` is an HMAC secret of 4 bytes: HS256 needs at least 32 (RFC 7518 §3.2), such as crypto.randomBytes(32)",
      ],
      [
        new Uint8Array(32),
        ["HS256", "HS512"],
        "`key` is an HMAC secret of 32 bytes: HS512 needs at least 64 (RFC 7518 §3.2), such as crypto.randomBytes(64)",
      ],
      [
        createSecretKey(Buffer.alloc(20)),
        ["HS256"],
        "`key` is an HMAC secret of 20 bytes: HS256 needs at least 32 (RFC 7518 §3.2), such as crypto.randomBytes(32)",
      ],
      [
        hmac16,
        ["HS256"],
        "`key` is an HMAC secret of 16 bytes: HS256 needs at least 32 (RFC 7518 §3.2), such as crypto.randomBytes(32)",
      ],
    ];
    expect(cases.map(([key, algorithms]) => creationError(key, algorithms))).toStrictEqual(
      cases.map(([, , message]) => `jwt authenticator: ${message}`),
    );
    expect(creationError(new Uint8Array(48), ["HS384"])).toBe("created");
    expect(creationError(createSecretKey(Buffer.alloc(64)), ["HS256", "HS512"])).toBe("created");
  });

  // Before the fix: created; an empty key set refused every token as unknown_key, an "oct" key every
  // token as "error" (jose takes only public keys from a key set).
  it('refuses an empty key set and an "oct" key in `jwks`', () => {
    expect(withJwks({ keys: [] }, ["RS256"])).toBe(
      "jwt authenticator: `jwks` has no keys: every token would be refused as unknown_key",
    );
    expect(withJwks({ keys: [p256.publicKey.export({ format: "jwk" }), jwk(64)] }, ["ES256", "HS256"])).toBe(
      'jwt authenticator: `jwks.keys[1]` is an HMAC secret ("oct"): a key set holds public keys only (jose refuses secrets from one); give the secret as `key`',
    );
    expect(withJwks({ keys: [{ ...p256.publicKey.export({ format: "jwk" }), kid: "a" }] }, ["ES256"])).toBe(
      "created",
    );
  });
});
