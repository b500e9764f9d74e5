// A write or delete whose first answer is lost after OpenFGA applied it, retried by the SDK (its default
// retries) and refused by OpenFGA as a duplicate or a missing tuple: the change happened, so it must be
// recorded as an unknown outcome (and the decision cache held), not as a failed write or delete. A
// request the SDK sent once keeps OpenFGA's refusal. The OpenFGA server is the loopback stand-in,
// spoken to by the real @openfga/sdk client through a loopback proxy that loses the first answer.
import type { Server } from "node:http";
import { FgaApiValidationError, OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { type ProxyStep, startOpenFgaProxy } from "../helpers/openfga-proxy.js";
import { type OpenFgaStandIn, SDK_TIMEOUT_MS, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { auditedWriter } from "./tuple-outcomes.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_EDITS_P1: CheckRequest = { user: "user:bob", relation: "editor", object: "project:p-1" };

const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });
const denied = (cacheHit: boolean): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
let proxy: Server | undefined;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  proxy = undefined;
  await standIn.close();
});

/**
 * A client with the SDK's default retries (3) and a short timeout, behind a proxy that does `first`
 * to the first write request and forwards everything else.
 */
async function setUp(first: ProxyStep = "forward") {
  let writes = 0;
  const started = await startOpenFgaProxy(standIn.url, (_n, path) =>
    path.endsWith("/write") && ++writes === 1 ? first : "forward",
  );
  proxy = started.server;
  const client = new OpenFgaClient({
    apiUrl: started.url,
    storeId: standIn.storeId,
    authorizationModelId: standIn.modelId,
    baseOptions: { timeout: SDK_TIMEOUT_MS },
  });
  return auditedWriter(client);
}

describe("audited tuple writer: a lost answer whose retry OpenFGA refused", () => {
  it("records a write whose answer timed out and whose retry was refused as unknown, and holds the cache", async () => {
    const { authorizer, writer, memory, outcomes } = await setUp("applied-then-hang");
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(denied(false));

    const error = await writer.writeTuples([BOB_EDITS_P1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaApiValidationError);
    expect(standIn.counts.write).toBe(2);
    expect(standIn.tuples()).toContainEqual(BOB_EDITS_P1);
    expect(outcomes()).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
    expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "UNKNOWN", message: "" });
    // The hold: answers are asked of OpenFGA, not cached, while the write may still land.
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(allowed(false));
    expect(await authorizer.check(BOB_EDITS_P1)).toStrictEqual(allowed(false));
  });

  it("records a revocation whose answer was lost and whose retry was refused as unknown, not as a failed delete", async () => {
    const { authorizer, writer, outcomes } = await setUp("applied-then-drop");
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));

    await expect(writer.deleteTuples([ALICE_EDITS_P1])).rejects.toBeInstanceOf(FgaApiValidationError);
    expect(standIn.tuples()).toStrictEqual([]);
    expect(outcomes()).toStrictEqual([["user:alice", false, "unknown_outcome"]]);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
  });

  it("records OpenFGA's refusal of a duplicate or a missing tuple sent once, retries on", async () => {
    const { writer, memory, outcomes } = await setUp();
    await expect(writer.writeTuples([ALICE_EDITS_P1])).rejects.toBeInstanceOf(FgaApiValidationError);
    await expect(writer.deleteTuples([BOB_EDITS_P1])).rejects.toBeInstanceOf(FgaApiValidationError);
    expect(standIn.counts.write).toBe(2);
    expect(outcomes()).toStrictEqual([
      ["user:alice", false, "write_failed_due_to_invalid_input"],
      ["user:bob", false, "write_failed_due_to_invalid_input"],
    ]);
    expect(memory.events.map((event) => event.result?.code)).toStrictEqual(["UNKNOWN", "UNKNOWN"]);
  });

  it("judges each chunk of a non-transactional write by its own requests", async () => {
    const { writer, outcomes } = await setUp("applied-then-drop");
    const response = await writer.writeTuples([BOB_EDITS_P1, ALICE_EDITS_P1], {
      transaction: { disable: true, maxParallelRequests: 1 },
    });
    expect(response.writes.map((w) => w.status)).toStrictEqual(["failure", "failure"]);
    expect(standIn.counts.write).toBe(3);
    expect(outcomes()).toStrictEqual([
      ["user:bob", false, "unknown_outcome"],
      ["user:alice", false, "write_failed_due_to_invalid_input"],
    ]);
  });
});
