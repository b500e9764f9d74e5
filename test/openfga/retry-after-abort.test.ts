// What the OpenFGA adapter does when @openfga/sdk sleeps out a `Retry-After` while the caller's signal
// aborts: the SDK's sleep cannot be interrupted, so the adapter must stop waiting for it itself.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";
import { tupleOutcomes } from "./tuple-outcomes.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

/** A client that retries once, so that a 429 with `Retry-After: 600` makes the SDK sleep ten minutes. */
const sleepyClient = () => standInClient(standIn, { retryParams: { maxRetry: 1, minWaitInMs: 1 } });

describe("Retry-After after an abort", () => {
  it("check resolves 'timeout' when the signal aborts during the SDK's Retry-After sleep", async () => {
    standIn.inject({ endpoint: "check", status: 429, retryAfter: "600", times: 1 });
    const authorizer = createOpenFgaAuthorizer({ client: sleepyClient() });
    const controller = new AbortController();
    const decision = authorizer.check(ALICE_EDITS_P1, { signal: controller.signal });
    await expect.poll(() => standIn.counts.check).toBe(1);
    controller.abort();
    expect(await decision).toMatchObject({ kind: "error", reason: "timeout" });
  });

  it("writeTuples rejects with the signal's reason when it aborts during the SDK's Retry-After sleep", async () => {
    standIn.inject({ endpoint: "write", status: 429, retryAfter: "600", times: 1 });
    const { writer, memory, authorizer } = writerFor();
    const controller = new AbortController();
    const timers = vi.spyOn(globalThis, "setTimeout");
    const written = writer
      .writeTuples([BOB_VIEWS_P1], { signal: controller.signal })
      .catch((e: unknown) => e);
    // Aborted once the SDK sleeps out the Retry-After (a timer of ten minutes): its client has read the
    // 429 then. The stand-in counting the request is too early, the answer may still be on its way.
    await expect.poll(() => timers.mock.calls.some(([, ms]) => ms === 600_000)).toBe(true);
    timers.mockRestore();
    controller.abort();
    expect(await written).toBe(controller.signal.reason);
    // Its only request was answered 429 and none is in flight: nothing was applied, nor will be.
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "rate_limited"]]);
    expect(memory.events[0]?.result?.code).toBe("RESOURCE_EXHAUSTED");
    // So the cache is not held: the second check is answered from it.
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: true });
  });

  it("writeTuples records unknown_outcome when its signal aborts while a request is in flight", async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    standIn.inject({ endpoint: "write", hold, times: 1 });
    const { writer, memory, authorizer } = writerFor();
    const controller = new AbortController();
    const written = writer
      .writeTuples([BOB_VIEWS_P1], { signal: controller.signal })
      .catch((e: unknown) => e);
    await expect.poll(() => standIn.counts.write).toBe(1);
    controller.abort();
    expect(await written).toBe(controller.signal.reason);
    release();
    // The request in flight when a signal aborts may have been applied.
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
    expect(memory.events[0]?.result?.code).toBe("UNKNOWN"); // the truth: it may have been applied
    // And the cache is held for it (`unknownOutcomeHoldMs`): no answer about it is stored.
    await authorizer.check(BOB_VIEWS_P1);
    expect(await authorizer.check(BOB_VIEWS_P1)).toMatchObject({ cacheHit: false });
  });

  it("write does not call OpenFGA when the signal has already aborted, and records the tuples as not sent", async () => {
    const { writer, memory } = writerFor();
    const signal = AbortSignal.abort();
    const written = writer.write({ writes: [BOB_VIEWS_P1] }, { signal }).catch((e: unknown) => e);
    expect(await written).toBe(signal.reason);
    expect(standIn.counts.write).toBe(0);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "aborted"]]);
    expect(memory.events[0]?.result?.code).toBe("CANCELLED");
  });

  it("deleteTuples resolves with the SDK's answer when the signal does not abort", async () => {
    const { writer, memory } = writerFor();
    const controller = new AbortController();
    await writer.deleteTuples([ALICE_EDITS_P1], { signal: controller.signal });
    controller.abort();
    expect(standIn.tuples()).toStrictEqual([]);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:alice", true, ""]]);
  });
});

function writerFor() {
  const { recorder, memory } = fixedRecorder();
  const client = sleepyClient();
  const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
  return { writer: createAuditedTupleWriter({ client, recorder, authorizer }), memory, authorizer };
}
