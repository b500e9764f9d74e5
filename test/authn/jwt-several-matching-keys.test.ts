// Several keys of a key set can match one token: it has no `kid` while the set holds two keys of its
// algorithm (normal during a key rotation), or its `kid` is on two keys. jose then throws instead of
// picking one; before the fix every such valid token was refused as unknown_key. Real keys, real
// tokens, a remote key set served over loopback HTTP, and a real gRPC call with its event read back.
import { Metadata, status } from "@grpc/grpc-js";
import { type CryptoKey, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { MAX_MATCHING_KEYS } from "../../src/authn/jwt-matching-keys.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { ActorType, AuthnFailureReason, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, serveJwks } from "../helpers/jwt.js";
import { startProjectServer, unary } from "../helpers/project-server.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };
const ALICE = {
  kind: "authenticated",
  actor: { id: "alice", type: "user", subject: "alice", realm: ISSUER },
} as const;

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

const newKeys = (count: number, alg: "RS256" | "ES256") =>
  Promise.all(Array.from({ length: count }, () => generateKeyPair(alg, { extractable: true })));

async function publicJwk(key: KeyPair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid, alg, use: "sig" };
}

/** A real token for alice, valid for an hour from `nowSec`; `kid` only when given. */
function sign(key: KeyPair, alg: string, options: { kid?: string; nowSec?: number } = {}) {
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader(options.kid === undefined ? { alg } : { alg, kid: options.kid })
    .setSubject("alice")
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key.privateKey);
}

function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

function trusting(keySet: { jwks: JSONWebKeySet } | { jwksUrl: string }, alg = "RS256"): Authenticator {
  return createJwtAuthenticator({
    ...keySet,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: [alg as "RS256"],
    cache: false,
  });
}

const outcome = (jwt: Authenticator, token: string) => jwt.authenticate(bearer(token), CALL);

describe("JWT authenticator: several keys matching one token", () => {
  let oldKey: KeyPair;
  let newKey: KeyPair;
  let foreign: KeyPair;
  let rotation: JSONWebKeySet;
  beforeAll(async () => {
    [oldKey, newKey, foreign] = (await newKeys(3, "RS256")) as [KeyPair, KeyPair, KeyPair];
    rotation = {
      keys: [await publicJwk(oldKey, "old", "RS256"), await publicJwk(newKey, "new", "RS256")],
    };
  });

  it("verifies a token without a kid against each key of a local set mid-rotation", async () => {
    const jwt = trusting({ jwks: rotation });
    expect(await outcome(jwt, await sign(oldKey, "RS256"))).toStrictEqual(ALICE);
    expect(await outcome(jwt, await sign(newKey, "RS256"))).toStrictEqual(ALICE);
  });

  it("verifies a token whose kid is on two keys of the set", async () => {
    const jwks = { keys: [await publicJwk(oldKey, "k1", "RS256"), await publicJwk(newKey, "k1", "RS256")] };
    expect(await outcome(trusting({ jwks }), await sign(newKey, "RS256", { kid: "k1" }))).toStrictEqual(
      ALICE,
    );
  });

  it("refuses a token without a kid that no key of the set verifies as bad_signature", async () => {
    expect(await outcome(trusting({ jwks: rotation }), await sign(foreign, "RS256"))).toStrictEqual({
      kind: "refused",
      reason: "bad_signature",
    });
  });

  it("refuses as before once a key's signature verifies: an expired token is refused as expired", async () => {
    const token = await sign(newKey, "RS256", { nowSec: Math.floor(Date.now() / 1000) - 4000 });
    expect(await outcome(trusting({ jwks: rotation }), token)).toStrictEqual({
      kind: "refused",
      reason: "expired",
    });
  });

  it(`tries at most ${MAX_MATCHING_KEYS} keys: a token of a key past them is refused as unknown_key`, async () => {
    const keys = await newKeys(MAX_MATCHING_KEYS + 1, "ES256");
    const jwks = { keys: await Promise.all(keys.map((key, i) => publicJwk(key, `k${i}`, "ES256"))) };
    const jwt = trusting({ jwks }, "ES256");
    const [lastTried, pastLimit] = keys.slice(MAX_MATCHING_KEYS - 1) as [KeyPair, KeyPair];
    expect(await outcome(jwt, await sign(lastTried, "ES256"))).toStrictEqual(ALICE);
    // Not every key was tried, so the signature is not known to be bad: the key could not be picked.
    const [stranger] = (await newKeys(1, "ES256")) as [KeyPair];
    for (const key of [pastLimit, stranger]) {
      expect(await outcome(jwt, await sign(key, "ES256"))).toStrictEqual({
        kind: "refused",
        reason: "unknown_key",
      });
    }
  });

  it("verifies a token without a kid against a remote key set mid-rotation, fetched once", async () => {
    const served = await serveJwks(() => rotation);
    try {
      const jwt = trusting({ jwksUrl: served.url });
      expect(await outcome(jwt, await sign(oldKey, "RS256"))).toStrictEqual(ALICE);
      expect(await outcome(jwt, await sign(newKey, "RS256"))).toStrictEqual(ALICE);
      expect(await outcome(jwt, await sign(foreign, "RS256"))).toStrictEqual({
        kind: "refused",
        reason: "bad_signature",
      });
      expect(served.fetches()).toBe(1);
    } finally {
      await served.close();
    }
  });

  it("lets a real gRPC call with a kid-less token through and records alice's authn event", async () => {
    const served = await serveJwks(() => rotation);
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [trusting({ jwksUrl: served.url })] },
      }),
    );
    try {
      const [error, project] = await unary(
        server.client.createProject.bind(server.client),
        { name: "apollo" },
        bearer(await sign(newKey, "RS256")),
      );
      expect([error?.code ?? status.OK, project?.ownerId]).toStrictEqual([status.OK, "alice"]);
      const [authn] = await memory.waitForCount(2);
      expect([authn?.eventType, authn?.actor?.id, authn?.actor?.type, authn?.detail]).toStrictEqual([
        EventType.EVENT_TYPE_AUTHN_RESULT,
        "alice",
        ActorType.ACTOR_TYPE_USER,
        {
          $case: "authn",
          value: {
            method: "jwt",
            success: true,
            failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED,
          },
        },
      ]);
    } finally {
      await server.close();
      await served.close();
    }
  });
});
