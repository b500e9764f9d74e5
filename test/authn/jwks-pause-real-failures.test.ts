import { setTimeout as sleep } from "node:timers/promises";
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

/** A JWT authenticator on `url` behind a real ProjectService; `call` answers the owner or the refusal. */
async function serviceTrusting(url: string) {
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000, monotonicReads: 0 };
  const told: string[] = [];
  const jwt = createJwtAuthenticator(
    withMonotonicClock(
      {
        jwksUrl: url,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256", "ES256"],
        cache: false,
        now: () => new Date(clock.ms),
        onError: (error) => told.push(error.message),
        // No cooldown: a token of an unknown kid may fetch the set at once.
        remoteJwksOptions: { cooldownDuration: 0 },
      },
      // The pause's clock stands still: a pause, once started, would hold for the whole test. With
      // `cache: false` it is read only where the pause is checked.
      () => {
        clock.monotonicReads++;
        return 0;
      },
    ),
  );
  const recorder = createRecorder({ service: "projects", emitters: [createMemoryEmitter()] });
  grpcServer = await startProjectServer(
    createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
  );
  const server = grpcServer;
  async function call(key: SigningKey) {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${await signToken(key, {}, { nowSec: clock.ms / 1000 })}`);
    const [error, project] = await unary(
      server.client.createProject.bind(server.client),
      { name: "p" },
      metadata,
    );
    return error === null ? project?.ownerId : [status[error.code], error.details];
  }
  return { call, told, clock };
}

const REFUSED = ["UNAVAILABLE", "authentication unavailable"];
const CAUSE = 'jwt authenticator: token refused as "error": ';

describe("JWT authenticator: what pauses a remote key set", () => {
  let k1: SigningKey;
  let k2: SigningKey;
  let broken: SigningKey;
  beforeAll(async () => {
    [k1, k2, broken] = await Promise.all([
      newSigningKey("k1"),
      newSigningKey("k2"),
      newSigningKey("broken", "ES256"),
    ]);
  });

  it("a published key that cannot be imported does not stop a new key from fetching the set", async () => {
    // The identity provider publishes an EC key whose point is not on its curve: WebCrypto cannot import it.
    const [jwk] = broken.jwks.keys;
    idp = await startIdentityProvider({ keys: [...k1.jwks.keys, { ...jwk, y: jwk?.x ?? "" }] });
    const service = await serviceTrusting(idp.url);
    expect(await service.call(k1)).toBe("alice");
    expect(idp.state.fetches).toBe(1);

    expect(await service.call(broken)).toStrictEqual(REFUSED);
    // Not "could not be fetched (HTTP 200)": the fetch answered, the key could not be imported.
    expect(service.told).toHaveLength(1);
    expect(service.told[0]).toMatch(
      /^jwt authenticator: token refused as "error": the key set could not give a key: DataError\b/,
    );
    expect(idp.state.fetches).toBe(1);

    // A key rotated in is fetched for at once. Before the fix: refused as "error", the set not asked.
    idp.state.jwks = { keys: [...idp.state.jwks.keys, ...k2.jwks.keys] };
    expect(await service.call(k2)).toBe("alice");
    expect(idp.state.fetches).toBe(2);
    expect(service.told).toHaveLength(1);
  });

  it("a failed fetch still pauses, and calls that waited on it are told its status", async () => {
    idp = await startIdentityProvider(k1.jwks);
    idp.state.status = 500;
    idp.state.held = true;
    const service = await serviceTrusting(idp.url);
    const first = service.call(k1);
    while (idp.state.fetches === 0) await sleep(5);
    // The second call waits on the first one's fetch: it has read the clock where the pause is checked.
    const reads = service.clock.monotonicReads;
    const second = service.call(k1);
    while (service.clock.monotonicReads < reads + 1) await sleep(5);
    idp.release();
    expect(await Promise.all([first, second])).toStrictEqual([REFUSED, REFUSED]);
    const failed = `${CAUSE}the key set could not be fetched (HTTP 500): JOSEError (ERR_JOSE_GENERIC)`;
    expect(service.told).toStrictEqual([failed, failed]);

    // Paused: the endpoint, back up, is not asked again within the second.
    idp.state.status = 200;
    expect(await service.call(k1)).toStrictEqual(REFUSED);
    expect(service.told[2]).toBe(
      `${CAUSE}the key set could not be fetched (HTTP 500): Error (ERR_JWKS_PAUSED)`,
    );
    expect(idp.state.fetches).toBe(1);
  });
});
