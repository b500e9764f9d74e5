// Checks that carry more than a tuple, and batches whose answers must go back to the right check. The
// OpenFGA server is a loopback stand-in (no OpenFGA server runs here) spoken to by the real
// @openfga/sdk client; it honours contextual tuples, as OpenFGA does.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_EDITS_P1: CheckRequest = { user: "user:bob", relation: "editor", object: "project:p-1" };

const UNSUPPORTED = { kind: "error", reason: "unsupported_request", error: expect.any(Error) };

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

/** A check a JavaScript caller (or one passing a wider object) can make: the tuple and more. */
function withExtras(request: CheckRequest, extras: Record<string, unknown>): CheckRequest {
  return { ...request, ...extras };
}

describe("createOpenFgaAuthorizer: checks with contextual tuples or a condition context", () => {
  it("never answers them from a decision cached for the bare tuple, nor checks the bare tuple instead", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn), cache: { ttlMs: 60_000 } });
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    // With this contextual tuple OpenFGA would allow bob; a model's "but not" could as well deny.
    const contextual = withExtras(BOB_EDITS_P1, { contextualTuples: [BOB_EDITS_P1] });
    expect(await authorizer.check(contextual)).toStrictEqual(UNSUPPORTED);
    expect(authorizer.cached?.(contextual)).toBeUndefined();
    expect(standIn.counts.check).toBe(1);
  });

  // Before the fix: the snake_case and other fields were dropped and the bare tuple was checked.
  it.each([
    ["contextual tuples", { contextualTuples: [BOB_EDITS_P1] }],
    ["a condition context", { context: { ip_address: "10.0.0.1" } }],
    ["contextual_tuples (the HTTP API's spelling)", { contextual_tuples: { tuple_keys: [BOB_EDITS_P1] } }],
    ["a consistency preference", { consistency: "HIGHER_CONSISTENCY" }],
    ["a tuple's condition", { condition: { name: "in_office_hours" } }],
    ["an unknown field", { extra: false }],
  ])("answers a check with %s 'unsupported_request', without asking OpenFGA", async (_, extras) => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    expect(await authorizer.check(withExtras(ALICE_EDITS_P1, extras))).toStrictEqual(UNSUPPORTED);
    expect(standIn.counts.check).toBe(0);
  });

  it("never answers contextual_tuples from a decision cached for the bare tuple", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn), cache: { ttlMs: 60_000 } });
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    const contextual = withExtras(BOB_EDITS_P1, { contextual_tuples: { tuple_keys: [BOB_EDITS_P1] } });
    expect(authorizer.cached?.(contextual)).toBeUndefined();
    expect(await authorizer.check(contextual)).toStrictEqual(UNSUPPORTED);
    expect(standIn.counts.check).toBe(1);
  });

  it("checks a request whose contextual tuples and context are empty as the bare tuple", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    const empty = withExtras(ALICE_EDITS_P1, { contextualTuples: [], context: {} });
    expect(await authorizer.check(empty)).toStrictEqual({ kind: "allowed", cacheHit: false });
    expect(standIn.requests[0]?.body).toMatchObject({ tuple_key: ALICE_EDITS_P1 });
  });

  it("answers such a request in a batch 'unsupported_request' and the others from OpenFGA and the cache", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn), cache: {} });
    await authorizer.check(BOB_EDITS_P1);
    const contextual = withExtras(BOB_EDITS_P1, { contextualTuples: [BOB_EDITS_P1] });
    expect(await authorizer.batchCheck([contextual, ALICE_EDITS_P1, BOB_EDITS_P1])).toStrictEqual([
      UNSUPPORTED,
      { kind: "allowed", cacheHit: false },
      { kind: "denied", cacheHit: true },
    ]);
    expect(await authorizer.batchCheck([contextual, BOB_EDITS_P1])).toStrictEqual([
      UNSUPPORTED,
      { kind: "denied", cacheHit: true },
    ]);
    expect(standIn.requests.filter((r) => r.endpoint === "batch-check").map((r) => r.body)).toMatchObject([
      { checks: [{ tuple_key: ALICE_EDITS_P1, correlation_id: "1" }] },
    ]);
  });
});

describe("createOpenFgaAuthorizer: batch answers go back to their checks", () => {
  it("answers the same question asked twice in one batch, each under its own correlation id", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    const decisions = await authorizer.batchCheck([ALICE_EDITS_P1, BOB_EDITS_P1, ALICE_EDITS_P1]);
    expect(decisions).toStrictEqual([
      { kind: "allowed", cacheHit: false },
      { kind: "denied", cacheHit: false },
      { kind: "allowed", cacheHit: false },
    ]);
    expect(standIn.counts["batch-check"]).toBe(1);
  });

  it("keeps the order over the SDK's split into requests of 50 checks", async () => {
    const requests = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? ALICE_EDITS_P1 : BOB_EDITS_P1));
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    const decisions: Decision[] = await authorizer.batchCheck(requests);
    expect(decisions.map((d) => d.kind)).toStrictEqual(
      requests.map((r) => (r === ALICE_EDITS_P1 ? "allowed" : "denied")),
    );
    expect(standIn.counts["batch-check"]).toBe(3);
  });
});
