import { Metadata, status } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { withMonotonicClock } from "../../src/authn/jwt-authenticator-options.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type IdentityProvider, startIdentityProvider } from "../helpers/identity-provider.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

let idp: IdentityProvider | undefined;
let grpcServer: ProjectServer | undefined;
afterEach(async () => {
  await grpcServer?.close();
  idp?.close();
  grpcServer = undefined;
  idp = undefined;
});

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
    idp = await startIdentityProvider(k1.jwks);
    const clock = { ms: Math.floor(Date.now() / 1000) * 1000, monotonicMs: 0 };
    const nowSec = clock.ms / 1000;
    const jwt = createJwtAuthenticator(
      withMonotonicClock(
        {
          jwksUrl: idp.url,
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256"],
          cache: false,
          now: () => new Date(clock.ms),
          // No cooldown: an unknown kid may refetch at once, as 30 s after the last good fetch.
          remoteJwksOptions: { cooldownDuration: 0, timeoutDuration: 1000 },
        },
        // The pause's clock: stepped below, not waited out.
        () => clock.monotonicMs,
      ),
    );
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

    if (down === "500") idp.state.status = 500;
    else idp.state.held = true; // never answered: the test closes the connection
    for (let i = 0; i < 20; i++) {
      expect(await call(k1, `unknown-${i}`)).toStrictEqual(["UNAVAILABLE", "authentication unavailable"]);
    }
    expect(idp.state.fetches).toBe(2);
    // The key set held is still fresh: its keys verify without asking.
    expect(await call(k1)).toBe("alice");
    expect(idp.state.fetches).toBe(2);

    // A second later it is asked again: back up, it publishes k2.
    idp.state.status = 200;
    idp.state.held = false;
    idp.state.jwks = { keys: [...k1.jwks.keys, ...k2.jwks.keys] };
    clock.monotonicMs += 1000;
    expect(await call(k2)).toBe("alice");
    expect(idp.state.fetches).toBe(3);
  });
});
