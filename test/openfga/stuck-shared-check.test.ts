// With the cache on, concurrent checks of one question share one request to OpenFGA. A shared request
// that is stuck (a stalled connection, or the SDK sleeping out a 429's Retry-After) must not take every
// later call for the same question with it while callers keep arriving before the previous one gives
// up. The OpenFGA server is the loopback stand-in, spoken to by the real @openfga/sdk client.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import {
  type OpenFgaStandIn,
  type StandInFault,
  standInClient,
  startOpenFgaStandIn,
} from "../helpers/openfga-stand-in.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };

const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

describe("createOpenFgaAuthorizer: a stuck shared check", () => {
  it.each<[string, StandInFault]>([
    ["a stalled connection", { endpoint: "check", latencyMs: 600_000, times: 1 }],
    [
      "a 429 whose Retry-After the SDK sleeps out",
      { endpoint: "check", status: 429, retryAfter: "5", times: 1 },
    ],
  ])("a call after a caller gave up starts a fresh request instead of joining it (%s)", async (_, fault) => {
    standIn.inject(fault);
    const client = standInClient(standIn, { retryParams: { maxRetry: 1, minWaitInMs: 1 } });
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    const first = new AbortController();
    const second = new AbortController();
    const third = new AbortController();
    const firstDecision = authorizer.check(ALICE_EDITS_P1, { signal: first.signal });
    await vi.waitFor(() => expect(standIn.counts.check).toBe(1));
    // Arrives while the first still waits: it shares the stuck request.
    const secondDecision = authorizer.check(ALICE_EDITS_P1, { signal: second.signal });
    first.abort();
    expect(await firstDecision).toMatchObject({ kind: "error", reason: "timeout" });

    // Arrives while the second still waits on the stuck request: OpenFGA answers a new one at once.
    const thirdDecision = authorizer.check(ALICE_EDITS_P1, { signal: third.signal });
    await vi.waitFor(() => expect(standIn.counts.check).toBe(2));
    expect(await thirdDecision).toStrictEqual(allowed(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));

    // The stuck request is still cancelled when its last caller gives up.
    second.abort();
    expect(await secondDecision).toMatchObject({ kind: "error", reason: "timeout" });
    if (fault.latencyMs !== undefined) await vi.waitFor(() => expect(standIn.abandoned).toBe(1));
    expect(standIn.counts.check).toBe(2);
  });
});
