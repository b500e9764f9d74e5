// A tuple write the SDK sent more than once, whose every attempt was answered 429: OpenFGA refused each
// one and applied none, so the outcome is known, "rate_limited" (RESOURCE_EXHAUSTED), and the authorizer's
// cache is not held. Before, any retried request whose last answer was a 429 was recorded as
// "unknown_outcome". An attempt without an answer (a dropped connection, a timeout) or with a 5xx still
// leaves the outcome unknown. The OpenFGA server is the loopback stand-in (no OpenFGA server runs here),
// spoken to by the real @openfga/sdk client with fast retries (`minWaitInMs: 1`, no Retry-After).
import { FgaApiRateLimitExceededError, FgaApiValidationError, FgaError } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import {
  type OpenFgaStandIn,
  SDK_TIMEOUT_MS,
  standInClient,
  startOpenFgaStandIn,
} from "../helpers/openfga-stand-in.js";
import { auditedWriter } from "./tuple-outcomes.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const CAROL_VIEWS_P1: CheckRequest = { user: "user:carol", relation: "viewer", object: "project:p-1" };

const denied = (cacheHit: boolean): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

/** An audited writer whose client sends each request up to `maxRetry + 1` times, a short timeout each. */
function setUp(maxRetry: number) {
  return auditedWriter(
    standInClient(standIn, {
      retryParams: { maxRetry, minWaitInMs: 1 },
      baseOptions: { timeout: SDK_TIMEOUT_MS },
    }),
  );
}

describe("audited tuple writer: a request whose every attempt was answered 429", () => {
  it("records a transactional write as rate_limited, and does not hold the cache", async () => {
    standIn.inject({ endpoint: "write", status: 429 });
    const { authorizer, writer, memory, outcomes } = setUp(2);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));

    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toBeInstanceOf(FgaApiRateLimitExceededError);
    expect(standIn.counts.write).toBe(3);
    expect(outcomes()).toStrictEqual([["user:bob", false, "rate_limited"]]);
    expect(memory.events[0]?.result).toStrictEqual({
      success: false,
      code: "RESOURCE_EXHAUSTED",
      message: "",
    });
    // The cached answer was dropped, and the next one is cached again: no unknown-outcome hold.
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(true));
  });

  it("records a transactional delete, and a write with writes and deletes, as rate_limited", async () => {
    standIn.inject({ endpoint: "write", status: 429 });
    const { writer, memory, outcomes } = setUp(1);
    await expect(writer.deleteTuples([ALICE_EDITS_P1])).rejects.toBeInstanceOf(FgaApiRateLimitExceededError);
    await expect(writer.write({ writes: [BOB_VIEWS_P1], deletes: [ALICE_EDITS_P1] })).rejects.toBeInstanceOf(
      FgaApiRateLimitExceededError,
    );
    expect(standIn.counts.write).toBe(4);
    expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P1]);
    expect(outcomes()).toStrictEqual([
      ["user:alice", false, "rate_limited"],
      ["user:bob", false, "rate_limited"],
      ["user:alice", false, "rate_limited"],
    ]);
    expect(memory.events.map((event) => event.result?.code)).toStrictEqual([
      "RESOURCE_EXHAUSTED",
      "RESOURCE_EXHAUSTED",
    ]);
  });

  it("judges each chunk of a non-transactional write: all 429 is rate_limited, a dropped attempt unknown", async () => {
    // Chunk 1 (bob): 429, 429. Chunk 2 (carol): 429, then its retry's connection is dropped.
    standIn.inject({ endpoint: "write", status: 429, times: 3 });
    standIn.inject({ endpoint: "write", reset: true, times: 1 });
    const { writer, outcomes } = setUp(1);
    const response = await writer.writeTuples([BOB_VIEWS_P1, CAROL_VIEWS_P1], {
      transaction: { disable: true, maxPerChunk: 1, maxParallelRequests: 1 },
    });
    expect(response.writes.map((w) => w.status)).toStrictEqual(["failure", "failure"]);
    expect(standIn.counts.write).toBe(4);
    expect(outcomes()).toStrictEqual([
      ["user:bob", false, "rate_limited"],
      ["user:carol", false, "unknown_outcome"],
    ]);
  });

  it("records the chunks of a non-transactional delete as rate_limited", async () => {
    standIn.inject({ endpoint: "write", status: 429 });
    const { writer, memory, outcomes } = setUp(1);
    const response = await writer.deleteTuples([ALICE_EDITS_P1], { transaction: { disable: true } });
    expect(response.deletes.map((d) => d.status)).toStrictEqual(["failure"]);
    expect(outcomes()).toStrictEqual([["user:alice", false, "rate_limited"]]);
    expect(memory.events[0]?.result?.code).toBe("RESOURCE_EXHAUSTED");
  });

  it("records OpenFGA's refusal of a duplicate after a 429 as that refusal: the 429'd attempt applied nothing", async () => {
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    const { writer, outcomes } = setUp(1);
    await expect(writer.writeTuples([ALICE_EDITS_P1])).rejects.toBeInstanceOf(FgaApiValidationError);
    expect(standIn.counts.write).toBe(2);
    expect(outcomes()).toStrictEqual([["user:alice", false, "write_failed_due_to_invalid_input"]]);
  });
});

describe("audited tuple writer: a retried request with an attempt not answered 429 stays unknown", () => {
  it("records a 429 then a dropped connection as unknown_outcome, and holds the cache", async () => {
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    standIn.inject({ endpoint: "write", reset: true, times: 1 });
    const { authorizer, writer, outcomes } = setUp(1);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));

    const error = await writer.writeTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaError);
    expect(standIn.counts.write).toBe(2);
    expect(outcomes()).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
    // The hold: answers are asked of OpenFGA, not cached, while the write may still land.
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));
  });

  it("records a 429, a dropped connection and a final 429 as unknown_outcome", async () => {
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    standIn.inject({ endpoint: "write", reset: true, times: 1 });
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    const { writer, memory, outcomes } = setUp(2);
    await expect(writer.deleteTuples([ALICE_EDITS_P1])).rejects.toBeInstanceOf(FgaApiRateLimitExceededError);
    expect(standIn.counts.write).toBe(3);
    expect(outcomes()).toStrictEqual([["user:alice", false, "unknown_outcome"]]);
    expect(memory.events[0]?.result?.code).toBe("UNKNOWN");
  });

  it("records a timeout then a 429 as unknown_outcome", async () => {
    // The first attempt gets no answer (the stand-in holds it) until the client's timeout.
    standIn.inject({ endpoint: "write", hold: new Promise(() => {}), times: 1 });
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    const { authorizer, writer, outcomes } = setUp(1);
    await expect(writer.writeTuples([CAROL_VIEWS_P1])).rejects.toBeInstanceOf(FgaApiRateLimitExceededError);
    expect(standIn.counts.write).toBe(2);
    expect(outcomes()).toStrictEqual([["user:carol", false, "unknown_outcome"]]);
    expect(await authorizer.check(CAROL_VIEWS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(CAROL_VIEWS_P1)).toStrictEqual(denied(false));
  });

  it("records a 503 then a 429 as unknown_outcome: the 503'd attempt may have been applied", async () => {
    standIn.inject({ endpoint: "write", status: 503, times: 1 });
    standIn.inject({ endpoint: "write", status: 429, times: 1 });
    const { writer, outcomes } = setUp(1);
    await expect(
      writer.writeTuples([BOB_VIEWS_P1], { transaction: { disable: true } }),
    ).resolves.toMatchObject({ writes: [{ status: "failure" }] });
    expect(standIn.counts.write).toBe(2);
    expect(outcomes()).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });
});
