import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JSONWebKeySet } from "jose";

/**
 * A loopback JWKS endpoint of an identity provider. It answers `state.jwks` with `state.status` (a
 * non-200 with `{}`); while `state.held`, answers wait until `release()` (or `close()`, which drops
 * them, as a provider that never answers). Counts the fetches in `state.fetches`.
 */
export async function startIdentityProvider(jwks: JSONWebKeySet) {
  const waiting: ServerResponse[] = [];
  const state = { jwks, status: 200, held: false, fetches: 0 };
  const answer = (res: ServerResponse) => {
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(state.status === 200 ? JSON.stringify(state.jwks) : "{}");
  };
  const server = createServer((_req, res) => {
    state.fetches++;
    if (state.held) waiting.push(res);
    else answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    state,
    release() {
      state.held = false;
      for (const res of waiting.splice(0)) answer(res);
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

export type IdentityProvider = Awaited<ReturnType<typeof startIdentityProvider>>;
