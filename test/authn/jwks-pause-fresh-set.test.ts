/**
 * A failed fetch of a remote key set that jose still holds fresh (fetched well before, the identity
 * provider down or slow since) left the set fresh, so tokens with an unknown `kid` each fetched it
 * again: 20 such calls, 20 requests, and with a slow provider each call waited out the timeout. The
 * second-long pause after a failed fetch holds now whatever the set's age, while tokens whose key the
 * set holds keep verifying. Real gRPC over loopback, real JWKS over loopback HTTP.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata, status } from "@grpc/grpc-js";
import type { JSONWebKeySet } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

type Answer = "keys" | "500" | "nothing";

let idpServer: Server | undefined;
let grpcServer: ProjectServer | undefined;
afterEach(async () => {
  await grpcServer?.close();
  idpServer?.closeAllConnections();
  idpServer?.close();
  grpcServer = undefined;
  idpServer = undefined;
});

/** An identity provider's JWKS endpoint: the key set, a 500, or no answer at all. Counts fetches. */
async function identityProvider(jwks: JSONWebKeySet) {
  const state = { answer: "keys" as Answer, jwks, fetches: 0 };
  idpServer = createServer((_req, res) => {
    state.fetches++;
    if (state.answer === "nothing") return; // held open until the test closes it
    res.writeHead(state.answer === "500" ? 500 : 200, { "content-type": "application/json" });
    res.end(state.answer === "500" ? "{}" : JSON.stringify(state.jwks));
  });
  await new Promise<void>((resolve) => idpServer?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}/jwks`, state };
}

describe("JWT authenticator: a fresh remote key set whose refetch fails", () => {
  let k1: SigningKey;
  let k2: SigningKey;
  beforeAll(async () => {
    [k1, k2] = await Promise.all([newSigningKey("k1"), newSigningKey("k2")]);
  });

  it.each([
    ["answers 500", "500"],
    ["does not answer within timeoutDuration", "nothing"],
  ] as const)("asks once when the identity provider %s, and again after the pause", async (_, down) => {
    const idp = await identityProvider(k1.jwks);
    const clock = { ms: Math.floor(Date.now() / 1000) * 1000 };
    const nowSec = clock.ms / 1000;
    const jwt = createJwtAuthenticator({
      jwksUrl: idp.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      cache: false,
      now: () => new Date(clock.ms),
      // No cooldown: an unknown kid may refetch at once, as 30 s after the last good fetch.
      remoteJwksOptions: { cooldownDuration: 0, timeoutDuration: 1000 },
    });
    const recorder = createRecorder({ service: "projects", emitters: [createMemoryEmitter()] });
    grpcServer = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
    const server = grpcServer;
    async function call(key: SigningKey, kid = key.kid) {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${await signToken(key, {}, { nowSec, kid })}`);
      const [error, project] = await unary(
        server.client.createProject.bind(server.client),
        { name: "p" },
        metadata,
      );
      return error === null ? project?.ownerId : [status[error.code], error.details];
    }

    expect(await call(k1)).toBe("alice");
    expect(idp.state.fetches).toBe(1);

    idp.state.answer = down;
    for (let i = 0; i < 20; i++) {
      expect(await call(k1, `unknown-${i}`)).toStrictEqual(["UNAUTHENTICATED", "unauthenticated: error"]);
    }
    expect(idp.state.fetches).toBe(2);
    // The key set held is still fresh: its keys verify without asking.
    expect(await call(k1)).toBe("alice");
    expect(idp.state.fetches).toBe(2);

    // A second later it is asked again: back up, it publishes k2.
    idp.state.answer = "keys";
    idp.state.jwks = { keys: [...k1.jwks.keys, ...k2.jwks.keys] };
    clock.ms += 1000;
    expect(await call(k2)).toBe("alice");
    expect(idp.state.fetches).toBe(3);
  });
});
