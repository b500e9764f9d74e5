// A write whose first attempt OpenFGA applied but whose answer was lost, retried by the SDK into a 429
// or 5xx: the grant exists, so the tuple must be recorded as an unknown outcome (and the decision cache
// held), not as a definite failure. The OpenFGA server is the loopback stand-in, spoken to by the real
// @openfga/sdk client through a loopback proxy that drops the first answer.
import type { Server } from "node:http";
import { FgaApiInternalError, FgaApiRateLimitExceededError } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { startOpenFgaProxy } from "../helpers/openfga-proxy.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { auditedWriter } from "./tuple-outcomes.js";

const MALLORY_OWNS_P1: CheckRequest = { user: "user:mallory", relation: "owner", object: "project:p-1" };
const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };

const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });
const denied = (cacheHit: boolean): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
let proxy: Server | undefined;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn();
});
afterEach(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  proxy = undefined;
  await standIn.close();
});

/**
 * A loopback proxy in front of the stand-in. Checks pass through. The first write request is
 * forwarded, applied, and its connection dropped without an answer; later ones get `status`.
 */
async function startLossyProxy(status: number): Promise<string> {
  let writes = 0;
  const code = status === 429 ? "rate_limit_exceeded" : "unavailable";
  const started = await startOpenFgaProxy(standIn.url, (_n, path) => {
    if (!path.endsWith("/write")) return "forward";
    return ++writes === 1 ? "applied-then-drop" : { status, code, message: "busy" };
  });
  proxy = started.server;
  return started.url;
}

const setUp = auditedWriter;

describe("audited tuple writer: a lost answer retried into a 429 or 5xx", () => {
  it.each([
    [503, FgaApiInternalError],
    [429, FgaApiRateLimitExceededError],
  ])(
    "records the applied write as unknown_outcome after a final %i, and holds the cache",
    async (status, errorClass) => {
      const url = await startLossyProxy(status);
      const client = standInClient(standIn, { apiUrl: url, retryParams: { maxRetry: 1, minWaitInMs: 1 } });
      const { authorizer, writer, memory, outcomes } = setUp(client);
      expect(await authorizer.check(MALLORY_OWNS_P1)).toStrictEqual(denied(false));

      const error = await writer.writeTuples([MALLORY_OWNS_P1]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect(standIn.tuples()).toStrictEqual([MALLORY_OWNS_P1]);
      expect(outcomes()).toStrictEqual([["user:mallory", false, "unknown_outcome"]]);
      expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "UNKNOWN", message: "" });
      // The hold: answers are asked of OpenFGA, not cached, while the write may still land.
      expect(await authorizer.check(MALLORY_OWNS_P1)).toStrictEqual(allowed(false));
      expect(await authorizer.check(MALLORY_OWNS_P1)).toStrictEqual(allowed(false));
    },
  );

  it("reads the call's retryParams before the client's, as the SDK does", async () => {
    const url = await startLossyProxy(503);
    const client = standInClient(standIn, { apiUrl: url, retryParams: { maxRetry: 0, minWaitInMs: 1 } });
    const { writer, outcomes } = setUp(client);
    await expect(
      writer.writeTuples([MALLORY_OWNS_P1], { retryParams: { maxRetry: 1, minWaitInMs: 1 } }),
    ).rejects.toBeInstanceOf(FgaApiInternalError);
    expect(outcomes()).toStrictEqual([["user:mallory", false, "unknown_outcome"]]);
  });

  it("records a chunk of a non-transactional write the same way", async () => {
    const url = await startLossyProxy(503);
    const client = standInClient(standIn, { apiUrl: url, retryParams: { maxRetry: 1, minWaitInMs: 1 } });
    const { writer, outcomes } = setUp(client);
    const response = await writer.writeTuples([MALLORY_OWNS_P1], { transaction: { disable: true } });
    expect(response.writes.map((w) => w.status)).toStrictEqual(["failure"]);
    expect(standIn.tuples()).toStrictEqual([MALLORY_OWNS_P1]);
    expect(outcomes()).toStrictEqual([["user:mallory", false, "unknown_outcome"]]);
  });

  it("records a 501 as unavailable with retries on: the SDK never retries a 501", async () => {
    standIn.inject({ endpoint: "write", status: 501 });
    const client = standInClient(standIn, { retryParams: { maxRetry: 2, minWaitInMs: 1 } });
    const { writer, outcomes } = setUp(client);
    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ statusCode: 501 });
    expect(standIn.counts.write).toBe(1);
    expect(outcomes()).toStrictEqual([["user:bob", false, "unavailable"]]);
  });

  it("records a 503 as unavailable when the SDK does not retry: that attempt was the only one", async () => {
    standIn.inject({ endpoint: "write", status: 503 });
    const client = standInClient(standIn, { retryParams: { maxRetry: 2, minWaitInMs: 1 } });
    const { writer, memory, outcomes } = setUp(client);
    await expect(
      writer.writeTuples([BOB_VIEWS_P1], { retryParams: { maxRetry: 0, minWaitInMs: 1 } }),
    ).rejects.toBeInstanceOf(FgaApiInternalError);
    expect(standIn.counts.write).toBe(1);
    expect(outcomes()).toStrictEqual([["user:bob", false, "unavailable"]]);
    expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "UNAVAILABLE", message: "" });
  });
});
