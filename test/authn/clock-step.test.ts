/**
 * A wall clock that steps back (NTP, a VM resumed, an operator) stretches no wait of the JWT
 * authenticator: the pause after a failed JWKS fetch and the token cache's `ttlMs` run on the
 * monotonic clock; `now` only dates the token (exp, nbf, iat). Before: both ran on `now`, and with the
 * clock stepped back 60 s every token was refused as "error" (ERR_JWKS_PAUSED) for 61 s, not 1 s.
 * Real JWKS endpoint over loopback HTTP.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuthnOutcome } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { withMonotonicClock } from "../../src/authn/jwt-authenticator-options.js";
import { STEP_BACK_MS, stepWallClockBack } from "../helpers/clock-step.js";
import { type IdentityProvider, startIdentityProvider } from "../helpers/identity-provider.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };
const ALICE: AuthnOutcome = {
  kind: "authenticated",
  actor: { id: "alice", subject: "alice", clientId: "web", realm: ISSUER, type: "user" },
};
const REFUSED: AuthnOutcome = { kind: "refused", reason: "error" };
const CAUSE = 'jwt authenticator: token refused as "error": the key set could not be fetched';
const FAILED = `${CAUSE} (HTTP 503): JOSEError (ERR_JOSE_GENERIC)`;
const PAUSED = `${CAUSE} (HTTP 503): Error (ERR_JWKS_PAUSED)`;

let idp: IdentityProvider | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  idp?.close();
  idp = undefined;
});

function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

describe("JWT authenticator: a wall clock stepping back", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await newSigningKey("k1");
  });

  it("ends the JWKS pause after its second, on the default clocks", async () => {
    idp = await startIdentityProvider(key.jwks);
    idp.state.status = 503; // an identity provider's blip: one failed fetch
    const told: string[] = [];
    const jwt = createJwtAuthenticator({
      jwksUrl: idp.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      // The wall clock the library reads, as `() => new Date()` reads it, stepped below.
      now: () => new Date(Date.now()),
      onError: (error) => told.push(error.message),
    });
    // Issued two minutes ago: still valid once the clock has stepped back a minute.
    const token = await signToken(key, {}, { nowSec: Math.floor(Date.now() / 1000) - 120 });
    expect(await jwt.authenticate(bearer(token), CALL)).toStrictEqual(REFUSED);
    expect(idp.state.fetches).toBe(1);

    idp.state.status = 200;
    stepWallClockBack();
    // The pause's length, and a margin, of real time (not a timing assertion: a wait past the pause).
    await sleep(1100);
    // Before the fix: refused (ERR_JWKS_PAUSED) until the wall clock was back where the pause began.
    expect(await jwt.authenticate(bearer(token), CALL)).toStrictEqual(ALICE);
    expect(idp.state.fetches).toBe(2);
    expect(told).toStrictEqual([FAILED]);
  });

  it("times the JWKS pause on the monotonic clock, not on `now`", async () => {
    idp = await startIdentityProvider(key.jwks);
    idp.state.status = 503;
    const clock = { ms: Math.floor(Date.now() / 1000) * 1000, monotonicMs: 0 };
    const told: string[] = [];
    const jwt = createJwtAuthenticator(
      withMonotonicClock(
        {
          jwksUrl: idp.url,
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256"],
          cache: false,
          now: () => new Date(clock.ms),
          onError: (error) => told.push(error.message),
        },
        () => clock.monotonicMs,
      ),
    );
    const token = await signToken(key, {}, { nowSec: clock.ms / 1000 - 120 });
    expect(await jwt.authenticate(bearer(token), CALL)).toStrictEqual(REFUSED);
    idp.state.status = 200;

    // `now` stepping forward a minute does not cut the pause short.
    clock.ms += STEP_BACK_MS;
    clock.monotonicMs += 999;
    expect(await jwt.authenticate(bearer(token), CALL)).toStrictEqual(REFUSED);
    expect(idp.state.fetches).toBe(1);

    // Nor does `now` stepping back two minutes stretch it: one second after the failed fetch, it ends.
    clock.ms -= 2 * STEP_BACK_MS;
    clock.monotonicMs += 1;
    expect(await jwt.authenticate(bearer(token), CALL)).toStrictEqual(ALICE);
    expect(idp.state.fetches).toBe(2);
    expect(told).toStrictEqual([FAILED, PAUSED]);
  });

  it("keeps a cached verification for ttlMs of the monotonic clock, though `now` stepped back", async () => {
    const clock = { ms: Math.floor(Date.now() / 1000) * 1000, monotonicMs: 0 };
    const jwt = createJwtAuthenticator(
      withMonotonicClock(
        {
          jwks: key.jwks,
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256"],
          cache: { ttlMs: 1000 },
          now: () => new Date(clock.ms),
        },
        () => clock.monotonicMs,
      ),
    );
    const token = await signToken(key, {}, { nowSec: clock.ms / 1000 - 120 });
    const first = jwt.authenticate(bearer(token), CALL);
    expect(first).toBeInstanceOf(Promise); // verified
    expect(await first).toStrictEqual(ALICE);

    clock.ms -= STEP_BACK_MS;
    clock.monotonicMs += 999;
    expect(jwt.authenticate(bearer(token), CALL)).toStrictEqual(ALICE); // from the cache, synchronously
    // ttlMs has passed: verified again. Before the fix: served from the cache for 60 s more.
    clock.monotonicMs += 1;
    const again = jwt.authenticate(bearer(token), CALL);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toStrictEqual(ALICE);
  });
});
