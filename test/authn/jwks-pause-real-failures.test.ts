/**
 * Only a failed fetch pauses a remote key set. Any other error of the set paused it too: a token
 * naming a key the identity provider published but that cannot be imported (as an unsigned
 * `{"alg":"HS256"}` token did while HS algorithms were accepted beside a key set), after which no
 * token of a newly published key could fetch the set for a second, and `onError` blamed a fetch that
 * had answered 200. One such token a second held key rotation off. Real gRPC over loopback, a real
 * JWKS over loopback HTTP, jose-signed tokens.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
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

let idpServer: Server | undefined;
let grpcServer: ProjectServer | undefined;
afterEach(async () => {
  await grpcServer?.close();
  idpServer?.closeAllConnections();
  idpServer?.close();
  grpcServer = undefined;
  idpServer = undefined;
});

/** A JWKS endpoint answering the key set, or 500; `held` answers wait until released. Counts fetches. */
async function identityProvider(jwks: JSONWebKeySet) {
  const waiting: ServerResponse[] = [];
  const state = { jwks, status: 200, held: false, fetches: 0 };
  const answer = (res: ServerResponse) => {
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(state.status === 200 ? JSON.stringify(state.jwks) : "{}");
  };
  idpServer = createServer((_req, res) => {
    state.fetches++;
    if (state.held) waiting.push(res);
    else answer(res);
  });
  await new Promise<void>((resolve) => idpServer?.listen(0, "127.0.0.1", resolve));
  const release = () => {
    state.held = false;
    for (const res of waiting.splice(0)) answer(res);
  };
  return { url: `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}/jwks`, state, release };
}

/** A JWT authenticator on `url` behind a real ProjectService; `call` answers the owner or the refusal. */
async function serviceTrusting(url: string) {
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000, reads: 0 };
  const told: string[] = [];
  const jwt = createJwtAuthenticator({
    jwksUrl: url,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256", "ES256"],
    cache: false,
    // The clock stands still: a pause, once started, would hold for the whole test.
    now: () => {
      clock.reads++;
      return new Date(clock.ms);
    },
    onError: (error) => told.push(error.message),
    // No cooldown: a token of an unknown kid may fetch the set at once.
    remoteJwksOptions: { cooldownDuration: 0 },
  });
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

const REFUSED = ["UNAUTHENTICATED", "unauthenticated: error"];
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
    const idp = await identityProvider({ keys: [...k1.jwks.keys, { ...jwk, y: jwk?.x ?? "" }] });
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
    const idp = await identityProvider(k1.jwks);
    idp.state.status = 500;
    idp.state.held = true;
    const service = await serviceTrusting(idp.url);
    const first = service.call(k1);
    while (idp.state.fetches === 0) await sleep(5);
    // The second call waits on the first one's fetch: it has read the clock where the pause is checked.
    const reads = service.clock.reads;
    const second = service.call(k1);
    while (service.clock.reads < reads + 2) await sleep(5);
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
