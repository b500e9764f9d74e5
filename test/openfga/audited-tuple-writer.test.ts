import { CredentialsMethod, FgaApiValidationError, type OpenFgaClient, type TupleKey } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import {
  type AuditEvent,
  EventType,
  type TupleCondition,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { withoutChain } from "../helpers/chain.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { FIXED_TIME, fixedRecorder } from "../helpers/recorder.js";

const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const CAROL_VIEWS_P1 = { user: "user:carol", relation: "viewer", object: "project:p-1" };
const ALICE_EDITS_P1 = { user: "user:alice", relation: "editor", object: "project:p-1" };
const ALICE_EDITS_P2 = { user: "user:alice", relation: "editor", object: "project:p-2" };
const WRITE_FAILED = "write_failed_due_to_invalid_input";

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

/** A writer over a real client pointed at the stand-in, recording into a fixed-clock recorder. */
function writerFor(client: OpenFgaClient = standInClient(standIn)) {
  const { recorder, memory, errors } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder });
  return { writer, memory, errors, client };
}

type Tuple = { user: string; relation: string; object: string };
type Outcome = true | string;

/**
 * The TUPLE_CHANGED event recorded outside an RPC: each tuple with `true` (written) or its error code;
 * `failureCode`, the event's status when a tuple failed.
 */
function tupleEvent(
  eventId: string,
  tuples: [TupleOperation, Tuple, Outcome, TupleCondition?][],
  failureCode = "UNKNOWN",
): AuditEvent {
  const success = tuples.every(([, , outcome]) => outcome === true);
  // The target is the object every tuple names, when they name one (project:p-1 → project p-1).
  const objects = new Set(tuples.map(([, { object }]) => object));
  const [type, id] = objects.size === 1 ? String([...objects][0]).split(":") : [];
  return {
    eventId,
    eventType: EventType.EVENT_TYPE_TUPLE_CHANGED,
    schemaVersion: 2,
    occurredAt: FIXED_TIME,
    service: "projects",
    operation: "",
    actor: undefined,
    target: type === undefined ? undefined : { type, id: id ?? "", name: "" },
    result: { success, code: success ? "OK" : failureCode, message: "" },
    traceId: "",
    spanId: "",
    requestId: "",
    peer: "",
    duration: undefined,
    userAgent: "",
    chain: undefined,
    payload: undefined,
    attributes: {},
    instance: "",
    detail: {
      $case: "tupleChange",
      value: {
        tuples: tuples.map(([operation, { user, relation, object }, outcome, condition]) => ({
          operation,
          user,
          relation,
          object,
          success: outcome === true,
          errorReason: outcome === true ? "" : outcome,
          condition,
        })),
        storeId: standIn.storeId,
        modelId: standIn.modelId,
      },
    },
  };
}

const { TUPLE_OPERATION_WRITE: WRITE, TUPLE_OPERATION_DELETE: DELETE } = TupleOperation;

/** Wraps a client method to keep what the SDK returned or threw, without changing either. */
function capture<K extends "write" | "writeTuples" | "deleteTuples">(client: OpenFgaClient, method: K) {
  const seen: { returned?: unknown; thrown?: unknown } = {};
  const original = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(client, {
    [method]: async (...args: unknown[]) => {
      try {
        seen.returned = await original(...args);
        return seen.returned;
      } catch (error) {
        seen.thrown = error;
        throw error;
      }
    },
  });
  return seen;
}

describe("createAuditedTupleWriter", () => {
  it("records one event with every tuple written, with the store and model ids", async () => {
    const { writer, memory, client } = writerFor();
    const seen = capture(client, "write");
    const response = await writer.write({
      writes: [BOB_VIEWS_P1, CAROL_VIEWS_P1],
      deletes: [ALICE_EDITS_P1],
    });
    expect(response).toBe(seen.returned);
    expect(response).toMatchObject({
      writes: [{ status: "success" }, { status: "success" }],
      deletes: [{ status: "success" }],
    });
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [
        [WRITE, BOB_VIEWS_P1, true],
        [WRITE, CAROL_VIEWS_P1, true],
        [DELETE, ALICE_EDITS_P1, true],
      ]),
    ]);
    expect(standIn.tuples()).toStrictEqual([BOB_VIEWS_P1, CAROL_VIEWS_P1]);
    expect(standIn.counts.write).toBe(1);
  });

  it("records a failed transactional write with every tuple failed and rethrows the SDK's error", async () => {
    const { writer, memory, client } = writerFor();
    const seen = capture(client, "write");
    const error = await writer.write({ writes: [BOB_VIEWS_P1, ALICE_EDITS_P1] }).catch((e: unknown) => e);
    expect(error).toBe(seen.thrown);
    expect(error).toBeInstanceOf(FgaApiValidationError);
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [
        [WRITE, BOB_VIEWS_P1, WRITE_FAILED],
        [WRITE, ALICE_EDITS_P1, WRITE_FAILED],
      ]),
    ]);
    expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P1]);
  });

  it("records per-tuple outcomes of a non-transactional write as the SDK reports them", async () => {
    const { writer, memory, client } = writerFor();
    const seen = capture(client, "write");
    // The SDK lists chunk results as they complete: a slow first chunk comes last in its response.
    standIn.inject({ endpoint: "write", latencyMs: 100, times: 1 });
    const response = await writer.write(
      { writes: [BOB_VIEWS_P1, ALICE_EDITS_P1, CAROL_VIEWS_P1], deletes: [ALICE_EDITS_P2] },
      { transaction: { disable: true, maxParallelRequests: 4 } },
    );
    expect(response).toBe(seen.returned);
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [
        [WRITE, BOB_VIEWS_P1, true],
        [WRITE, ALICE_EDITS_P1, WRITE_FAILED],
        [WRITE, CAROL_VIEWS_P1, true],
        [DELETE, ALICE_EDITS_P2, WRITE_FAILED],
      ]),
    ]);
    expect(standIn.counts.write).toBe(4);
  });

  it("records writeTuples and deleteTuples with their operation", async () => {
    const { writer, memory } = writerFor();
    await writer.writeTuples([BOB_VIEWS_P1]);
    await writer.deleteTuples([ALICE_EDITS_P1, BOB_VIEWS_P1]);
    await expect(writer.deleteTuples([CAROL_VIEWS_P1])).rejects.toBeInstanceOf(FgaApiValidationError);
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [[WRITE, BOB_VIEWS_P1, true]]),
      tupleEvent("evt-2", [
        [DELETE, ALICE_EDITS_P1, true],
        [DELETE, BOB_VIEWS_P1, true],
      ]),
      tupleEvent("evt-3", [[DELETE, CAROL_VIEWS_P1, WRITE_FAILED]]),
    ]);
    expect(standIn.tuples()).toStrictEqual([]);
  });

  // Before the fix: the event's status was UNKNOWN, as for a write whose outcome is unknown.
  it.each([
    [500, "unavailable", "UNAVAILABLE"],
    [429, "rate_limited", "RESOURCE_EXHAUSTED"],
  ])("records an HTTP %i as %s, with status %s", async (status, reason, code) => {
    standIn.inject({ endpoint: "write", status });
    const { writer, memory } = writerFor();
    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ statusCode: status });
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [[WRITE, BOB_VIEWS_P1, reason]], code),
    ]);
  });

  it("records a tuple's condition by its name and context keys, never the context's values", async () => {
    const { writer, memory } = writerFor();
    const condition = {
      name: "in_office_hours",
      context: { tz: "Europe/Paris", from: "09:00", until: "17:00" },
    };
    await writer.writeTuples([{ ...BOB_VIEWS_P1, condition }, ALICE_EDITS_P2]);
    expect(standIn.requests.at(-1)?.body).toMatchObject({ writes: { tuple_keys: [{ condition }, {}] } });
    const recorded = { name: "in_office_hours", contextKeys: ["from", "tz", "until"] };
    expect(withoutChain(memory.events)).toStrictEqual([
      tupleEvent("evt-1", [
        [WRITE, BOB_VIEWS_P1, true, recorded],
        [WRITE, ALICE_EDITS_P2, true],
      ]),
    ]);
    expect(JSON.stringify(memory.events)).not.toMatch(/Europe|09:00|17:00/);
  });

  it("records a condition without a context, and one whose name is not a string as (invalid)", async () => {
    const { writer, memory } = writerFor();
    const tuples = [
      { ...BOB_VIEWS_P1, condition: { name: "is_weekday" } },
      { ...CAROL_VIEWS_P1, condition: { name: 7, context: [] } },
    ] as TupleKey[];
    await writer.writeTuples(tuples).catch(() => undefined);
    const [event] = memory.events;
    expect(
      event?.detail?.$case === "tupleChange" && event.detail.value.tuples.map((t) => t.condition),
    ).toStrictEqual([
      { name: "is_weekday", contextKeys: [] },
      { name: "(invalid)", contextKeys: [] },
    ]);
  });

  it("passes a call without tuples to the SDK and records nothing", async () => {
    const { writer, memory, errors } = writerFor();
    await expect(writer.write({})).rejects.toMatchObject({ apiErrorCode: "invalid_write_input" });
    expect(withoutChain(memory.events)).toStrictEqual([]);
    expect(errors).toStrictEqual([]);
  });

  it("invalidates cached decisions, so the next check sees the change", async () => {
    const client = standInClient(standIn);
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    const { recorder } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client, recorder, authorizer });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: false });
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "denied", cacheHit: true });
    await writer.writeTuples([BOB_VIEWS_P1]);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
    // Also after a failed write: part of it may have happened.
    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toThrow();
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
  });

  it("never puts the API token or SDK messages into events", async () => {
    const token = "fga-secret-token-9f8e7d";
    await standIn.close();
    standIn = await startOpenFgaStandIn({ token, tuples: [ALICE_EDITS_P1] });
    const credentials = { method: CredentialsMethod.ApiToken, config: { token } } as const;
    const { writer, memory } = writerFor(standInClient(standIn, { credentials }));
    await writer.writeTuples([BOB_VIEWS_P1]);
    const error = await writer.writeTuples([ALICE_EDITS_P1]).catch((e: unknown) => e);
    const wrongToken = { method: CredentialsMethod.ApiToken, config: { token: `${token}-old` } } as const;
    const { writer: refused, memory: refusedMemory } = writerFor(
      standInClient(standIn, { credentials: wrongToken }),
    );
    await expect(refused.deleteTuples([ALICE_EDITS_P1])).rejects.toMatchObject({ statusCode: 401 });

    expect(standIn.requests.map((r) => r.authorization)).toStrictEqual([
      `Bearer ${token}`,
      `Bearer ${token}`,
      `Bearer ${token}-old`,
    ]);
    expect(String(error)).toContain("cannot write a tuple which already exists");
    expect(withoutChain(refusedMemory.events)).toStrictEqual([
      tupleEvent("evt-1", [[DELETE, ALICE_EDITS_P1, "unauthenticated"]]),
    ]);
    const recorded = JSON.stringify([...memory.events, ...refusedMemory.events]);
    for (const secret of [token, "Bearer", "cannot write", "already exists", "FGA API"]) {
      expect(recorded).not.toContain(secret);
    }
    expect(memory.events).toHaveLength(2);
  });

  it.each([
    ["no options", () => undefined, "options must be an object"],
    ["something else as client", () => ({ client: {}, recorder: fixedRecorder().recorder }), "`client`"],
    ["no recorder", () => ({ client: standInClient(standIn) }), "`recorder` must be a Recorder"],
  ])("throws an AuditConfigError for %s", (_, options, message) => {
    const create = () => createAuditedTupleWriter(options() as never);
    expect(create).toThrow(AuditConfigError);
    expect(create).toThrow(message);
  });
});
