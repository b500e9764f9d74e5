// The decision cache follows each write request of the audited tuple writer, not only the whole call:
// OpenFGA applies each request when it answers it, and a non-transactional write sends many, one after
// another. The real @openfga/sdk client talks to the loopback OpenFGA HTTP stand-in (no OpenFGA server
// can run here), whose `hold` fault keeps a write request unanswered (and unapplied) until released.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { auditedWriter } from "./tuple-outcomes.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const OTHERS = [0, 1, 2].map((i) => ({
  user: `user:u${i}`,
  relation: "editor",
  object: `project:p-${i + 10}`,
}));

let standIn: OpenFgaStandIn;
let release: () => void;
let held: Promise<void>;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1, ...OTHERS] });
  held = new Promise<void>((resolve) => {
    release = resolve;
  });
});
afterEach(async () => {
  release();
  await standIn.close();
});

describe("write requests hold the decision cache", () => {
  it("answers no check from the cache once a chunk of a non-transactional revoke was applied", async () => {
    const { authorizer, writer, outcomes } = auditedWriter(standInClient(standIn));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "allowed", cacheHit: true });
    standIn.inject({ endpoint: "write", latencyMs: 0, times: 1 }); // alice's chunk: answered at once
    standIn.inject({ endpoint: "write", hold: held, times: 1 }); // the next one: held
    const revoking = writer.deleteTuples([ALICE_EDITS_P1, ...OTHERS], {
      transaction: { disable: true, maxParallelRequests: 1 },
    });
    // One request at a time: the second is sent once the first (alice's) was answered.
    await expect.poll(() => standIn.counts.write).toBe(2);
    expect(standIn.tuples().some((tuple) => tuple.user === "user:alice")).toBe(false);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    release();
    await revoking;
    expect(outcomes().map(([user, success]) => [user, success])).toStrictEqual([
      ["user:alice", true],
      ["user:u0", true],
      ["user:u1", true],
      ["user:u2", true],
    ]);
  });

  it("stores no answer about a tuple while the request writing it is in flight", async () => {
    const { authorizer, writer } = auditedWriter(standInClient(standIn));
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    standIn.inject({ endpoint: "write", hold: held, times: 1 });
    const writing = writer.writeTuples([BOB_VIEWS_P1]);
    await expect.poll(() => standIn.counts.write).toBe(1);
    // Asked of OpenFGA each time: OpenFGA may apply the write at any moment now.
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    release();
    await writing;
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "allowed", cacheHit: true });
  });
});
