import { FgaApiInternalError, FgaApiRateLimitExceededError } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createOpenFgaAuthorizer, type OpenFgaAuthorizerOptions } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_EDITS_P1: CheckRequest = { user: "user:bob", relation: "editor", object: "project:p-1" };
const ALICE_VIEWS_P2: CheckRequest = { user: "user:alice", relation: "viewer", object: "project:p-2" };

const allowed = (cacheHit = false): Decision => ({ kind: "allowed", cacheHit });
const denied = (cacheHit = false): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1], impliedBy: { viewer: ["editor"] } });
});
afterEach(() => standIn.close());

/** An authorizer over a real client pointed at the stand-in; `clock` drives cache expiry. */
function authorizerFor(options: Partial<OpenFgaAuthorizerOptions> = {}, clientOverrides = {}) {
  const clock = { ms: 0 };
  const authorizer = createOpenFgaAuthorizer({
    client: standInClient(standIn, clientOverrides),
    now: () => clock.ms,
    ...options,
  });
  return { authorizer, clock };
}

describe("createOpenFgaAuthorizer: check", () => {
  it("answers allowed and denied from OpenFGA, sending the client's store and model ids", async () => {
    const { authorizer } = authorizerFor();
    expect(authorizer.storeId).toBe(standIn.storeId);
    expect(authorizer.modelId).toBe(standIn.modelId);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed());
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(denied());
    expect(standIn.counts.check).toBe(2);
    expect(standIn.requests[0]?.body).toMatchObject({
      tuple_key: ALICE_EDITS_P1,
      authorization_model_id: standIn.modelId,
    });
  });

  it("reports a 500 as error 'unavailable', never as denied", async () => {
    standIn.inject({ endpoint: "check", status: 500 });
    const decision = await authorizerFor().authorizer.check(ALICE_EDITS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "unavailable" });
    expect(decision.kind === "error" && decision.error).toBeInstanceOf(FgaApiInternalError);
  });

  it("reports a 429 as error 'rate_limited'", async () => {
    standIn.inject({ endpoint: "check", status: 429 });
    const decision = await authorizerFor().authorizer.check(ALICE_EDITS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "rate_limited" });
    expect(decision.kind === "error" && decision.error).toBeInstanceOf(FgaApiRateLimitExceededError);
  });

  it("reports a dropped connection as error 'unavailable'", async () => {
    standIn.inject({ endpoint: "check", reset: true });
    expect(await authorizerFor().authorizer.check(ALICE_EDITS_P1)).toMatchObject({
      kind: "error",
      reason: "unavailable",
    });
  });

  it("reports a request OpenFGA refuses with OpenFGA's error code", async () => {
    const decision = await authorizerFor().authorizer.check({ ...ALICE_EDITS_P1, object: "no-type" });
    expect(decision).toMatchObject({ kind: "error", reason: "validation_error" });
  });

  it("lets the SDK retry within the call: one 500, then the answer", async () => {
    standIn.inject({ endpoint: "check", status: 500, times: 1 });
    const { authorizer } = authorizerFor({}, { retryParams: { maxRetry: 1, minWaitInMs: 5 } });
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed());
    expect(standIn.counts.check).toBe(2);
  });

  it("resolves with 'timeout' as soon as the signal aborts, and cancels the request", async () => {
    // Ten minutes: a check that waited for the answer would fail the test by its timeout.
    standIn.inject({ endpoint: "check", latencyMs: 600_000 });
    // Aborted once OpenFGA has the request: a 50 ms timer raced its arrival, and on a loaded machine
    // fired first, leaving no request to cancel.
    const controller = new AbortController();
    const deciding = authorizerFor().authorizer.check(ALICE_EDITS_P1, { signal: controller.signal });
    await vi.waitFor(() => expect(standIn.counts.check).toBe(1), { timeout: 10_000 });
    controller.abort();
    const decision = await deciding;
    expect(decision).toStrictEqual({ kind: "error", reason: "timeout", error: controller.signal.reason });
    await vi.waitFor(() => expect(standIn.abandoned).toBe(1), { timeout: 10_000 });
  });

  it("does not ask OpenFGA when the signal has already aborted", async () => {
    const decision = await authorizerFor().authorizer.check(ALICE_EDITS_P1, { signal: AbortSignal.abort() });
    expect(decision).toMatchObject({ kind: "error", reason: "timeout" });
    expect(standIn.counts.check).toBe(0);
  });
});

describe("createOpenFgaAuthorizer: batchCheck", () => {
  it("answers each request in order, with one batch-check request", async () => {
    const decisions = await authorizerFor().authorizer.batchCheck([
      BOB_EDITS_P1,
      ALICE_EDITS_P1,
      { ...ALICE_EDITS_P1, object: "no-type" },
      ALICE_VIEWS_P2,
      { ...ALICE_EDITS_P1, relation: "viewer" },
    ]);
    expect(decisions).toMatchObject([
      denied(),
      allowed(),
      { kind: "error", reason: "validation_error" },
      denied(),
      allowed(),
    ]);
    expect(standIn.counts["batch-check"]).toBe(1);
    expect(standIn.counts.check).toBe(0);
  });

  it("sends at most 50 checks per request, with the model id, and answers every check in order", async () => {
    const requests = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? ALICE_EDITS_P1 : BOB_EDITS_P1));
    const decisions = await authorizerFor().authorizer.batchCheck(requests);
    expect(decisions).toStrictEqual(requests.map((r) => (r === ALICE_EDITS_P1 ? allowed() : denied())));
    const bodies = standIn.requests.map(
      (r) => r.body as { checks: unknown[]; authorization_model_id: unknown },
    );
    expect(bodies.map((b) => [b.checks.length, b.authorization_model_id])).toStrictEqual([
      [50, standIn.modelId],
      [50, standIn.modelId],
      [20, standIn.modelId],
    ]);
  });

  it("answers every request with the error when the batch fails", async () => {
    standIn.inject({ endpoint: "batch-check", status: 503 });
    const decisions = await authorizerFor().authorizer.batchCheck([ALICE_EDITS_P1, BOB_EDITS_P1]);
    expect(decisions).toMatchObject([
      { kind: "error", reason: "unavailable" },
      { kind: "error", reason: "unavailable" },
    ]);
  });

  it("resolves with 'timeout' for every request when the signal aborts", async () => {
    standIn.inject({ endpoint: "batch-check", latencyMs: 10_000 });
    const decisions = await authorizerFor().authorizer.batchCheck([ALICE_EDITS_P1, BOB_EDITS_P1], {
      signal: AbortSignal.timeout(50),
    });
    expect(decisions.map((d) => d.kind === "error" && d.reason)).toStrictEqual(["timeout", "timeout"]);
  });

  it("sends only cache misses and marks hits", async () => {
    const { authorizer } = authorizerFor({ cache: {} });
    await authorizer.check(ALICE_EDITS_P1);
    expect(await authorizer.batchCheck([BOB_EDITS_P1, ALICE_EDITS_P1])).toStrictEqual([
      denied(),
      allowed(true),
    ]);
    expect(await authorizer.batchCheck([BOB_EDITS_P1, ALICE_EDITS_P1])).toStrictEqual([
      denied(true),
      allowed(true),
    ]);
    expect(standIn.counts["batch-check"]).toBe(1);
    expect(standIn.requests.at(-1)?.body).toMatchObject({ checks: [{ tuple_key: BOB_EDITS_P1 }] });
  });

  it("answers an empty batch without asking OpenFGA", async () => {
    expect(await authorizerFor().authorizer.batchCheck([])).toStrictEqual([]);
    expect(standIn.counts["batch-check"]).toBe(0);
  });
});

describe("createOpenFgaAuthorizer: decision cache", () => {
  it("is off by default", async () => {
    const { authorizer } = authorizerFor();
    await authorizer.check(ALICE_EDITS_P1);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
    expect(standIn.counts.check).toBe(2);
  });

  it("marks the second check of the same tuple as a cache hit", async () => {
    const { authorizer } = authorizerFor({ cache: { ttlMs: 1_000 } });
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(denied(true));
    expect(standIn.counts.check).toBe(2);
  });

  it("answers a cache hit from one reading of the request's fields (its cache key is made once)", async () => {
    const { authorizer } = authorizerFor({ cache: { ttlMs: 1_000 } });
    await authorizer.check(ALICE_EDITS_P1);
    const reads = { user: 0, relation: 0, object: 0 };
    const counted = Object.defineProperties(
      {},
      Object.fromEntries(
        (["user", "relation", "object"] as const).map((field) => [
          field,
          {
            enumerable: true,
            get: () => {
              reads[field]++;
              return ALICE_EDITS_P1[field];
            },
          },
        ]),
      ),
    ) as CheckRequest;
    expect(await authorizer.check(counted)).toStrictEqual(allowed(true));
    expect(reads).toStrictEqual({ user: 1, relation: 1, object: 1 });
    expect(standIn.counts.check).toBe(1);
  });

  it("cached answers a decision it holds at once, and undefined for one it would have to ask for", async () => {
    const { authorizer } = authorizerFor({ cache: { ttlMs: 1_000 } });
    expect(authorizer.cached?.(ALICE_EDITS_P1)).toBeUndefined();
    await authorizer.check(ALICE_EDITS_P1);
    await authorizer.check(BOB_EDITS_P1);
    expect(authorizer.cached?.(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
    expect(authorizer.cached?.(BOB_EDITS_P1)).toStrictEqual(denied(true));
    expect(authorizer.cached?.(ALICE_VIEWS_P2)).toBeUndefined();
    expect(standIn.counts.check).toBe(2);
    const uncached = authorizerFor().authorizer;
    await uncached.check(ALICE_EDITS_P1);
    expect(uncached.cached?.(ALICE_EDITS_P1)).toBeUndefined();
  });

  it("forgets an answer after ttlMs", async () => {
    const { authorizer, clock } = authorizerFor({ cache: { ttlMs: 1_000 } });
    await authorizer.check(ALICE_EDITS_P1);
    clock.ms = 999;
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
    clock.ms = 1_000;
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
    expect(standIn.counts.check).toBe(2);
  });

  it("keeps at most maxEntries answers, dropping the least recently used", async () => {
    const { authorizer } = authorizerFor({ cache: { maxEntries: 2 } });
    await authorizer.check(ALICE_EDITS_P1);
    await authorizer.check(BOB_EDITS_P1);
    await authorizer.check(ALICE_EDITS_P1); // now the most recently used
    await authorizer.check(ALICE_VIEWS_P2); // evicts BOB_EDITS_P1
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(denied(false));
  });

  it("never caches errors", async () => {
    standIn.inject({ endpoint: "check", status: 500, times: 1 });
    const { authorizer } = authorizerFor({ cache: {} });
    expect(await authorizer.check(ALICE_EDITS_P1)).toMatchObject({ kind: "error" });
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
  });

  it("invalidate forgets every answer by default: membership changes reach other objects", async () => {
    const { authorizer } = authorizerFor({ cache: {} });
    await authorizer.batchCheck([ALICE_EDITS_P1, ALICE_VIEWS_P2]);
    // alice joining team:core may make her an editor of every project team:core#member edits
    authorizer.invalidate([{ user: "user:alice", relation: "member", object: "team:core" }]);
    expect(await authorizer.batchCheck([ALICE_EDITS_P1, ALICE_VIEWS_P2])).toStrictEqual([
      allowed(false),
      denied(false),
    ]);
  });

  it('with invalidation "object", invalidate drops answers about the changed tuples\' objects only', async () => {
    const { authorizer } = authorizerFor({ cache: { invalidation: "object" } });
    await authorizer.batchCheck([ALICE_EDITS_P1, BOB_EDITS_P1, ALICE_VIEWS_P2]);
    authorizer.invalidate([{ user: "user:carol", relation: "owner", object: "project:p-1" }]);
    expect(await authorizer.batchCheck([ALICE_EDITS_P1, BOB_EDITS_P1, ALICE_VIEWS_P2])).toStrictEqual([
      allowed(false),
      denied(false),
      denied(true),
    ]);
  });

  it.each([
    ["a userset", "team:core#member"],
    ["an object that is not a user", "folder:f-1"],
  ])(
    'with invalidation "object", invalidate clears everything when a changed tuple\'s user is %s',
    async (_, user) => {
      const { authorizer } = authorizerFor({ cache: { invalidation: "object" } });
      await authorizer.batchCheck([ALICE_EDITS_P1, ALICE_VIEWS_P2]);
      authorizer.invalidate([{ user, relation: "editor", object: "project:p-9" }]);
      expect(await authorizer.batchCheck([ALICE_EDITS_P1, ALICE_VIEWS_P2])).toStrictEqual([
        allowed(false),
        denied(false),
      ]);
    },
  );

  it("does not cache an answer that was in flight while the cache was invalidated", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 100, times: 1 });
    const { authorizer } = authorizerFor({ cache: {} });
    const inFlight = authorizer.check(ALICE_EDITS_P1);
    await vi.waitFor(() => expect(standIn.counts.check).toBe(1));
    authorizer.invalidate([ALICE_EDITS_P1]);
    expect(await inFlight).toStrictEqual(allowed(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
  });
});

describe("createOpenFgaAuthorizer: concurrent checks with the cache on", () => {
  it("asks OpenFGA once per question, however many calls ask it at once, and answers them all", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 100, times: 2 });
    const { authorizer } = authorizerFor({ cache: {} });
    const alice = Array.from({ length: 20 }, () => authorizer.check(ALICE_EDITS_P1));
    const bob = Array.from({ length: 5 }, () => authorizer.check(BOB_EDITS_P1));
    expect(await Promise.all(alice)).toStrictEqual(alice.map(() => allowed(false)));
    expect(await Promise.all(bob)).toStrictEqual(bob.map(() => denied(false)));
    expect(standIn.counts.check).toBe(2);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
  });

  it("keeps the request going for the others when one caller gives up", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 300, times: 1 });
    const { authorizer } = authorizerFor({ cache: {} });
    const signal = AbortSignal.timeout(50);
    const impatient = authorizer.check(ALICE_EDITS_P1, { signal });
    const patient = authorizer.check(ALICE_EDITS_P1);
    expect(await impatient).toStrictEqual({ kind: "error", reason: "timeout", error: signal.reason });
    expect(await patient).toStrictEqual(allowed(false));
    expect(standIn.counts.check).toBe(1);
    expect(standIn.abandoned).toBe(0);
  });

  it("cancels the request once every caller gave up", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 10_000 });
    const { authorizer } = authorizerFor({ cache: {} });
    // The callers give up once OpenFGA has the request: timers of 50 and 80 ms raced its arrival, and
    // on a loaded machine both fired first (counts.check 0, nothing left to cancel).
    const first = new AbortController();
    const second = new AbortController();
    const deciding = Promise.all([
      authorizer.check(ALICE_EDITS_P1, { signal: first.signal }),
      authorizer.check(ALICE_EDITS_P1, { signal: second.signal }),
    ]);
    await vi.waitFor(() => expect(standIn.counts.check).toBe(1), { timeout: 10_000 });
    first.abort();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(standIn.abandoned).toBe(0); // one caller still waits
    second.abort();
    const decisions = await deciding;
    expect(decisions.map((d) => d.kind === "error" && d.reason)).toStrictEqual(["timeout", "timeout"]);
    expect(standIn.counts.check).toBe(1);
    await vi.waitFor(() => expect(standIn.abandoned).toBe(1), { timeout: 10_000 });
  });

  it("does not join a check that started before an invalidation", async () => {
    standIn.inject({ endpoint: "check", latencyMs: 100, times: 2 });
    const { authorizer } = authorizerFor({ cache: {} });
    const before = authorizer.check(ALICE_EDITS_P1);
    await vi.waitFor(() => expect(standIn.counts.check).toBe(1));
    authorizer.invalidate([ALICE_EDITS_P1]);
    const after = authorizer.check(ALICE_EDITS_P1);
    expect(await Promise.all([before, after])).toStrictEqual([allowed(false), allowed(false)]);
    expect(standIn.counts.check).toBe(2);
  });
});

describe("createOpenFgaAuthorizer: options", () => {
  it.each([
    ["a client without storeId", () => ({ client: standInClient(standIn, { storeId: "" }) }), "no storeId"],
    ["something else as client", () => ({ client: {} }), "`client` must be an OpenFgaClient"],
    ["a zero ttlMs", () => ({ client: standInClient(standIn), cache: { ttlMs: 0 } }), "`cache.ttlMs`"],
    [
      "a fractional maxEntries",
      () => ({ client: standInClient(standIn), cache: { maxEntries: 1.5 } }),
      "`cache.maxEntries`",
    ],
    ["a non-function now", () => ({ client: standInClient(standIn), now: 5 }), "`now` must be a function"],
  ])("throws an AuditConfigError for %s", (_, options, message) => {
    const create = () => createOpenFgaAuthorizer(options() as unknown as OpenFgaAuthorizerOptions);
    expect(create).toThrow(AuditConfigError);
    expect(create).toThrow(message);
  });

  it("leaves modelId out when the client has none", () => {
    const authorizer = createOpenFgaAuthorizer({
      client: standInClient(standIn, { authorizationModelId: "" }),
    });
    expect("modelId" in authorizer).toBe(false);
  });
});
