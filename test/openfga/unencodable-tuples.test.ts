// Tuples and check requests JSON cannot encode (a BigInt field), or whose fields cannot be read: the
// writer still records the call and drops the cached answers it may have changed, and the authorizer
// still answers without rejecting. The OpenFGA server is the loopback stand-in, spoken to by the real
// @openfga/sdk client.
import type { ClientWriteResponse, OpenFgaClient, TupleKey } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import {
  createAuditedTupleWriter,
  createOpenFgaAuthorizer,
  type OpenFgaCacheOptions,
} from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const ALICE_VIEWS_P1: CheckRequest = { user: "user:alice", relation: "viewer", object: "project:p-1" };
const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const BIGINT_USER = { user: 10n, relation: "viewer", object: "project:p-1" } as unknown as TupleKey;

const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });
const denied = (cacheHit: boolean): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_VIEWS_P1] });
});
afterEach(() => standIn.close());

function setUp(
  cache: OpenFgaCacheOptions = { ttlMs: 60_000 },
  client: OpenFgaClient = standInClient(standIn),
) {
  const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn), cache });
  const { recorder, memory, errors } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });
  const recorded = () =>
    memory.events.flatMap((event) =>
      event.detail?.$case === "tupleChange"
        ? event.detail.value.tuples.map((t) => ({
            user: t.user,
            object: t.object,
            success: t.success,
            errorReason: t.errorReason,
            condition: t.condition,
          }))
        : [],
    );
  return { authorizer, writer, recorded, errors };
}

describe("audited tuple writer: tuples JSON cannot encode", () => {
  it("records a non-transactional call with a BigInt field and drops the answers it changed", async () => {
    const { authorizer, writer, recorded, errors } = setUp();
    expect(await authorizer.check(ALICE_VIEWS_P1)).toStrictEqual(allowed(false));
    const response = await writer.deleteTuples([ALICE_VIEWS_P1, BIGINT_USER], {
      transaction: { disable: true },
    });
    expect(response.deletes.map((d) => d.status).sort()).toStrictEqual(["failure", "success"]);
    expect(standIn.tuples()).toStrictEqual([]);
    expect(recorded()).toStrictEqual([
      { user: "user:alice", object: "project:p-1", success: true, errorReason: "", condition: undefined },
      {
        user: "(invalid)",
        object: "project:p-1",
        success: false,
        errorReason: "TypeError",
        condition: undefined,
      },
    ]);
    expect(errors).toStrictEqual([]);
    expect(await authorizer.check(ALICE_VIEWS_P1)).toStrictEqual(denied(false));
  });

  it('with invalidation "object", drops every answer after a tuple whose object is not a string', async () => {
    // JSON encodes a String object as its text: the SDK writes project:p-1, the writer records "(invalid)".
    const { authorizer, writer } = setUp({ ttlMs: 60_000, invalidation: "object" });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));
    const boxed = { ...BOB_VIEWS_P1, object: new String("project:p-1") } as unknown as TupleKey;
    await writer.writeTuples([boxed]);
    expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
  });

  it("records a tuple whose condition context cannot be read, with the condition as (invalid)", async () => {
    const { writer, recorded } = setUp();
    const unreadable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("unreadable");
        },
      },
    );
    const tuple = { ...BOB_VIEWS_P1, condition: { name: "in_region", context: unreadable } };
    await writer.writeTuples([tuple, { user: "user:carol", relation: "viewer", object: "project:p-1" }], {
      transaction: { disable: true },
    });
    expect(recorded()).toStrictEqual([
      {
        user: "user:bob",
        object: "project:p-1",
        success: false,
        errorReason: "Error",
        condition: { name: "(invalid)", contextKeys: [] },
      },
      { user: "user:carol", object: "project:p-1", success: true, errorReason: "", condition: undefined },
    ]);
  });

  it("records every tuple as unknown_outcome and drops cached answers when the response cannot be read", async () => {
    const sdk = standInClient(standIn);
    // A client in front of the SDK whose response throws when read.
    const client = Object.assign(Object.create(sdk) as OpenFgaClient, {
      writeTuples: async (...args: Parameters<OpenFgaClient["writeTuples"]>) => {
        await sdk.writeTuples(...args);
        return {
          get writes(): never {
            throw new Error("unreadable");
          },
        } as unknown as ClientWriteResponse;
      },
    });
    const { authorizer, writer, recorded } = setUp({ ttlMs: 60_000 }, client);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(denied(false));
    await writer.writeTuples([BOB_VIEWS_P1]);
    expect(recorded()).toStrictEqual([
      {
        user: "user:bob",
        object: "project:p-1",
        success: false,
        errorReason: "unknown_outcome",
        condition: undefined,
      },
    ]);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
    // Held: the write's outcome is unknown.
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
  });
});

describe("createOpenFgaAuthorizer: requests JSON cannot encode, with the cache on", () => {
  const bigint = { user: 1n, relation: "viewer", object: "project:p-1" } as unknown as CheckRequest;

  it("answers check and batchCheck with an error and cached with undefined, never rejecting or throwing", async () => {
    const { authorizer } = setUp();
    expect(authorizer.cached?.(bigint)).toBeUndefined();
    expect(await authorizer.check(bigint)).toMatchObject({ kind: "error", reason: "TypeError" });
    const decisions = await authorizer.batchCheck([bigint, ALICE_VIEWS_P1]);
    expect(decisions.map((d) => (d.kind === "error" ? d.reason : d.kind))).toStrictEqual([
      "TypeError",
      "allowed",
    ]);
    expect(await authorizer.check(ALICE_VIEWS_P1)).toStrictEqual(allowed(true));
  });

  it("asks such a request alone in batchCheck, so that the other checks of the batch get answers", async () => {
    const { authorizer } = setUp(undefined);
    const requests = [...Array.from({ length: 49 }, () => ALICE_VIEWS_P1), bigint, BOB_VIEWS_P1];
    const decisions = await authorizer.batchCheck(requests);
    const tally: Record<string, number> = {};
    for (const d of decisions) {
      const kind = d.kind === "error" ? `error:${d.reason}` : d.kind;
      tally[kind] = (tally[kind] ?? 0) + 1;
    }
    expect(tally).toStrictEqual({ allowed: 49, denied: 1, "error:TypeError": 1 });
    expect(decisions[49]).toMatchObject({ kind: "error", reason: "TypeError" });
    expect(standIn.counts["batch-check"]).toBe(1);
  });

  it("answers a request whose fields cannot be read with an error", async () => {
    const { authorizer } = setUp();
    const unreadable = {
      get user(): string {
        throw new Error("unreadable");
      },
      relation: "viewer",
      object: "project:p-1",
    };
    expect(authorizer.cached?.(unreadable)).toBeUndefined();
    expect(await authorizer.check(unreadable)).toMatchObject({ kind: "error", reason: "Error" });
    expect(await authorizer.batchCheck([unreadable])).toMatchObject([{ kind: "error", reason: "Error" }]);
  });
});
