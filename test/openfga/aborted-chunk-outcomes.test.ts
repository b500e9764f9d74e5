// A non-transactional tuple write whose signal aborts while the SDK sleeps out a 429's `Retry-After`:
// each chunk is its own request, which OpenFGA applies (or refuses) when it answers it, so each tuple
// is recorded by its own request's answers. Before, one refusal was recorded for every tuple of the
// call (the last one answered: a rate-limited tuple read as a duplicate, or a duplicate as rate-limited),
// a chunk answered 200 was recorded "unknown_outcome", and so was one never sent. The OpenFGA server is
// the loopback stand-in (no OpenFGA server runs here), spoken to by the real @openfga/sdk client.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { auditedWriter } from "./tuple-outcomes.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_EDITS_P2: CheckRequest = { user: "user:bob", relation: "editor", object: "project:p-2" };
const CAROL_EDITS_P3: CheckRequest = { user: "user:carol", relation: "editor", object: "project:p-3" };

let standIn: OpenFgaStandIn;
afterEach(() => standIn.close());

/**
 * An audited writer whose client retries once (a 429 with `Retry-After: 600` makes the SDK sleep ten
 * minutes) and notes the status of each answer it got, so that the test aborts only once the client,
 * not just the stand-in, has seen an answer.
 */
function setUp() {
  const statuses: number[] = [];
  const noteStatus = (data: unknown, _headers: unknown, status?: number) => {
    if (status !== undefined) statuses.push(status);
    return typeof data === "string" && data !== "" ? JSON.parse(data) : data;
  };
  const client = standInClient(standIn, {
    retryParams: { maxRetry: 1, minWaitInMs: 1 },
    baseOptions: { transformResponse: [noteStatus] },
  });
  return { ...auditedWriter(client), statuses };
}

/** Writes `tuples` one per request, `parallel` at a time, with a signal the test aborts. */
function writeEach(writer: ReturnType<typeof setUp>["writer"], tuples: CheckRequest[], parallel: number) {
  const controller = new AbortController();
  const written = writer
    .writeTuples(tuples, {
      signal: controller.signal,
      transaction: { disable: true, maxPerChunk: 1, maxParallelRequests: parallel },
    })
    .catch((e: unknown) => e);
  return { controller, written };
}

/** The user of the one tuple a write request the stand-in received writes. */
function userOfRequest(index: number): unknown {
  const body = standIn.requests.filter((request) => request.endpoint === "write")[index]?.body as
    | { writes?: { tuple_keys?: { user?: unknown }[] } }
    | undefined;
  return body?.writes?.tuple_keys?.[0]?.user;
}

describe("audited tuple writer: a non-transactional write aborted in a Retry-After sleep", () => {
  describe("with both tuples already written", () => {
    beforeEach(async () => {
      standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1, BOB_EDITS_P2] });
    });

    it("records the rate-limited chunk rate_limited when the duplicate's refusal came last", async () => {
      // Two chunks in parallel: the first to arrive is answered 429 (Retry-After 600), the second
      // waits for the gate, then is refused as a duplicate.
      let open = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      standIn.inject({ endpoint: "write", status: 429, retryAfter: "600", times: 1 });
      standIn.inject({ endpoint: "write", hold: gate, times: 1 });
      const { writer, memory, outcomes, statuses } = setUp();
      const { controller, written } = writeEach(writer, [ALICE_EDITS_P1, BOB_EDITS_P2], 2);
      await expect.poll(() => statuses).toStrictEqual([429]);
      open();
      await expect.poll(() => statuses).toStrictEqual([429, 400]);
      controller.abort();

      expect(await written).toBe(controller.signal.reason);
      const rateLimited = userOfRequest(0);
      const duplicate = userOfRequest(1);
      expect(new Set([rateLimited, duplicate])).toStrictEqual(new Set(["user:alice", "user:bob"]));
      const reasonOf = (user: unknown) =>
        user === rateLimited ? "rate_limited" : "write_failed_due_to_invalid_input";
      expect(outcomes()).toStrictEqual([
        ["user:alice", false, reasonOf("user:alice")],
        ["user:bob", false, reasonOf("user:bob")],
      ]);
      expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "UNKNOWN", message: "" });
    });

    it("records the duplicate as a duplicate when the rate-limited chunk's 429 came last", async () => {
      // One chunk at a time: alice's is refused as a duplicate, then bob's is answered 429.
      standIn.inject({ endpoint: "write", times: 1 });
      standIn.inject({ endpoint: "write", status: 429, retryAfter: "600", times: 1 });
      const { writer, outcomes, statuses } = setUp();
      const { controller, written } = writeEach(writer, [ALICE_EDITS_P1, BOB_EDITS_P2], 1);
      await expect.poll(() => statuses).toStrictEqual([400, 429]);
      controller.abort();

      expect(await written).toBe(controller.signal.reason);
      expect(outcomes()).toStrictEqual([
        ["user:alice", false, "write_failed_due_to_invalid_input"],
        ["user:bob", false, "rate_limited"],
      ]);
    });
  });

  describe("with no tuple written yet", () => {
    beforeEach(async () => {
      standIn = await startOpenFgaStandIn();
    });

    it("records a chunk answered 200 as written, the rate-limited one rate_limited, one never sent aborted", async () => {
      // One chunk at a time: alice's is applied, bob's is answered 429, carol's is never sent.
      standIn.inject({ endpoint: "write", times: 1 });
      standIn.inject({ endpoint: "write", status: 429, retryAfter: "600", times: 1 });
      const { writer, authorizer, outcomes, statuses } = setUp();
      const { controller, written } = writeEach(writer, [ALICE_EDITS_P1, BOB_EDITS_P2, CAROL_EDITS_P3], 1);
      await expect.poll(() => statuses).toStrictEqual([200, 429]);
      controller.abort();

      expect(await written).toBe(controller.signal.reason);
      expect(standIn.tuples()).toStrictEqual([expect.objectContaining(ALICE_EDITS_P1)]);
      expect(outcomes()).toStrictEqual([
        ["user:alice", true, ""],
        ["user:bob", false, "rate_limited"],
        ["user:carol", false, "aborted"],
      ]);
      // Every outcome is known: the cache is not held, the second check is answered from it.
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "allowed", cacheHit: true });
      expect(standIn.counts.write).toBe(2);
    });

    it("records only the chunk in flight unknown_outcome, a chunk answered 200 written", async () => {
      // One chunk at a time: alice's is applied, bob's is held without an answer when the signal aborts.
      let release = () => {};
      const hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      standIn.inject({ endpoint: "write", times: 1 });
      standIn.inject({ endpoint: "write", hold, times: 1 });
      const { writer, authorizer, outcomes, statuses } = setUp();
      const { controller, written } = writeEach(writer, [ALICE_EDITS_P1, BOB_EDITS_P2, CAROL_EDITS_P3], 1);
      await expect.poll(() => statuses).toStrictEqual([200]);
      await expect.poll(() => standIn.counts.write).toBe(2);
      controller.abort();

      expect(await written).toBe(controller.signal.reason);
      release();
      expect(outcomes()).toStrictEqual([
        ["user:alice", true, ""],
        ["user:bob", false, "unknown_outcome"],
        ["user:carol", false, "aborted"],
      ]);
      // Bob's write may still be applied: the cache is held for a while (`unknownOutcomeHoldMs`).
      await authorizer.check(BOB_EDITS_P2);
      expect(await authorizer.check(BOB_EDITS_P2)).toMatchObject({ cacheHit: false });
    });
  });
});
