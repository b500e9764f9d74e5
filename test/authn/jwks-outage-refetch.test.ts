/**
 * While the JWKS endpoint fails (5xx, refused, unparsable), jose fetches it again for every token it
 * is asked to verify: each call to the service became one request to the identity provider, at the
 * rate calls arrive, during its outage. After a failed fetch the authenticator waits a second of its
 * monotonic clock (stepped here through the internal option, not waited out) before asking again,
 * refusing tokens as "error" meanwhile. Real JWKS over loopback HTTP.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { withMonotonicClock } from "../../src/authn/jwt-authenticator-options.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A JWKS endpoint that answers 500 until `up` is set, then the key set. Counts fetches. */
async function flakyJwks(key: SigningKey) {
  const state = { up: false, fetches: 0 };
  server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(state.up ? 200 : 500, { "content-type": "application/json" });
    res.end(state.up ? JSON.stringify(key.jwks) : "{}");
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/jwks`, state };
}

describe("JWT authenticator: a JWKS endpoint that fails", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await newSigningKey("k1");
  });

  it("is asked once for many tokens within a second, and again after it", async () => {
    const jwks = await flakyJwks(key);
    const clock = { ms: Date.parse("2026-01-01T00:00:00Z"), monotonicMs: 0 };
    const nowSec = clock.ms / 1000;
    const jwt = createJwtAuthenticator(
      withMonotonicClock(
        {
          jwksUrl: jwks.url,
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256"],
          cache: false,
          now: () => new Date(clock.ms),
        },
        () => clock.monotonicMs,
      ),
    );
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signToken(key, { sub: `user-${i}` }, { nowSec })),
    );
    const metadata = (token: string) => {
      const m = new Metadata();
      m.set("authorization", `Bearer ${token}`);
      return m;
    };
    for (const token of tokens) {
      expect(await jwt.authenticate(metadata(token), CALL)).toStrictEqual({
        kind: "refused",
        reason: "error",
      });
    }
    expect(jwks.state.fetches).toBe(1);

    // A second later it is asked again, and once it is back, tokens verify.
    jwks.state.up = true;
    clock.monotonicMs += 1000;
    expect((await jwt.authenticate(metadata(tokens[0] as string), CALL)).kind).toBe("authenticated");
    expect(jwks.state.fetches).toBe(2);
  });
});
