import { describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { Recorder } from "../../src/recorder/recorder.js";
import { fixedRecorder } from "../helpers/recorder.js";

const UNREADABLE = "input could not be read (a getter or Proxy trap threw)";
const MUTATION = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;

type Method = "recordAuthnResult" | "recordAuthzDecision" | "recordTupleChange" | "recordResourceMutation";

/** Calls a record method with any value, as untyped JavaScript callers can. */
function record(recorder: Recorder, method: Method, input: unknown): string {
  return (recorder[method] as (input: unknown) => string)(input);
}

const throwing = () => {
  throw new Error("secret-token-in-message");
};
/** A Proxy whose every trap throws. */
const trapsThrow = () =>
  new Proxy(
    {},
    {
      get: throwing,
      has: throwing,
      ownKeys: throwing,
      getPrototypeOf: throwing,
      getOwnPropertyDescriptor: throwing,
    },
  );
const revoked = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};

describe("hostile record input", () => {
  it.each([
    [
      "a getter that throws",
      "recordResourceMutation",
      {
        ...MUTATION,
        get resourceId() {
          return throwing();
        },
      },
      UNREADABLE,
    ],
    ["an input Proxy whose traps throw", "recordResourceMutation", trapsThrow(), UNREADABLE],
    ["a revoked Proxy", "recordAuthzDecision", revoked(), UNREADABLE],
    [
      "an actor Proxy whose traps throw",
      "recordResourceMutation",
      { ...MUTATION, actor: trapsThrow() },
      UNREADABLE,
    ],
    [
      "a tuples Proxy whose traps throw",
      "recordTupleChange",
      { tuples: new Proxy([], { get: throwing }) },
      UNREADABLE,
    ],
    [
      "an occurredAt Proxy of a Date",
      "recordResourceMutation",
      { ...MUTATION, occurredAt: new Proxy(new Date(), { getPrototypeOf: throwing }) },
      "occurredAt must be a valid Date from 0001-01-01 to 9999-12-31 (UTC), got object",
    ],
    [
      "an id whose toString throws",
      "recordResourceMutation",
      { ...MUTATION, resourceId: { toString: throwing } },
      "resourceId must be a string, got object",
    ],
    [
      "a message whose toJSON throws",
      "recordResourceMutation",
      { ...MUTATION, result: { success: true, message: { toJSON: throwing } } },
      "result.message must be a string, got object",
    ],
    [
      "a symbol id",
      "recordResourceMutation",
      { ...MUTATION, resourceId: Symbol("p-1") },
      "resourceId must be a string, got symbol",
    ],
    ["a symbol as input", "recordAuthnResult", Symbol("input"), "input must be an object"],
    [
      "a BigInt duration",
      "recordResourceMutation",
      { ...MUTATION, durationMs: 5n },
      "durationMs must be a finite number >= 0, got bigint",
    ],
    [
      "a BigInt status code",
      "recordResourceMutation",
      { ...MUTATION, result: { success: false, code: 7n } },
      'result.code must be a gRPC status number (0 to 16) or name ("NOT_FOUND"), got bigint',
    ],
    [
      "a symbol status code",
      "recordResourceMutation",
      { ...MUTATION, result: { success: false, code: Symbol("x") } },
      'result.code must be a gRPC status number (0 to 16) or name ("NOT_FOUND"), got symbol',
    ],
  ] as const)(
    "refuses %s as invalid input, without throwing or echoing it",
    (_name, method, input, problem) => {
      const { recorder, memory, errors } = fixedRecorder();
      expect(record(recorder, method, input)).toBe("failed");
      expect(memory.events).toStrictEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(AuditInputError);
      expect(errors[0]?.message).toBe(`${method}: ${problem}`);
      expect(recorder.stats()).toMatchObject({ accepted: 0, failed: 0, invalid: 1 });
    },
  );

  it("reads each field once, so a getter cannot change a value between its check and the event", () => {
    const { recorder, memory } = fixedRecorder();
    let reads = 0;
    const input = {
      mutation: "update",
      resourceType: "project",
      // A valid string on the first read, a number on every later one.
      get resourceId(): unknown {
        reads++;
        return reads === 1 ? "p-1" : 42;
      },
    };
    expect(record(recorder, "recordResourceMutation", input)).toBe("accepted");
    expect(reads).toBe(1);
    expect(memory.events[0]?.target?.id).toBe("p-1");
    expect(memory.events[0]?.detail).toStrictEqual({
      $case: "resourceMutation",
      value: { mutation: "MUTATION_TYPE_UPDATE", resourceType: "project", resourceId: "p-1" },
    });
  });

  it("reads a Proxy input only through get: one whose other traps throw is recorded", () => {
    const { recorder, memory } = fixedRecorder();
    const input = new Proxy(MUTATION, { has: throwing, ownKeys: throwing, getPrototypeOf: throwing });
    expect(record(recorder, "recordResourceMutation", input)).toBe("accepted");
    expect(memory.events[0]?.target).toStrictEqual({ type: "project", id: "p-1", name: "" });
  });

  it("takes a Date's time with Date.prototype.getTime, so its own getTime, toISOString and toJSON cannot interfere", () => {
    const { recorder, memory } = fixedRecorder();
    const occurredAt = Object.assign(new Date("2026-01-02T03:04:05.006Z"), {
      getTime: () => Number.NaN,
      toISOString: throwing,
      toJSON: throwing,
    });
    expect(record(recorder, "recordResourceMutation", { ...MUTATION, occurredAt })).toBe("accepted");
    const event = memory.events[0];
    expect(event?.occurredAt).not.toBe(occurredAt);
    expect(event === undefined ? undefined : eventToJson(event).occurredAt).toBe("2026-01-02T03:04:05.006Z");
  });

  it("ignores fields it does not know, symbol keys included, without reading them", () => {
    const { recorder, memory } = fixedRecorder();
    const input = {
      ...MUTATION,
      [Symbol("extra")]: "x",
      get extra(): string {
        return throwing();
      },
    };
    expect(record(recorder, "recordResourceMutation", input)).toBe("accepted");
    expect(memory.events).toHaveLength(1);
  });

  it("refuses an authn or authz report whose getters throw, through the observers", () => {
    const { recorder, errors } = fixedRecorder();
    const attempt = {
      method: "jwt",
      get success(): boolean {
        return throwing();
      },
    };
    const check = {
      relation: "viewer",
      objectType: "project",
      objectId: "p-1",
      decision: "error",
      actor: trapsThrow(),
    };
    expect(() => recorder.authnObserver()(attempt as never)).not.toThrow();
    expect(() => recorder.authzObserver()(check as never)).not.toThrow();
    expect(errors.map((error) => [error.name, error.message])).toStrictEqual([
      ["AuditInputError", `recordAuthnResult: ${UNREADABLE}`],
      ["AuditInputError", `recordAuthzDecision: ${UNREADABLE}`],
    ]);
    expect(recorder.stats()).toMatchObject({ accepted: 0, failed: 0, invalid: 2 });
  });

  it("reads an authz report's decision once, so the decision and its reason agree", () => {
    const { recorder, memory } = fixedRecorder();
    let reads = 0;
    const check = {
      relation: "viewer",
      objectType: "project",
      objectId: "p-1",
      errorReason: "EngineError",
      // "error" on the first read only: the report must still be recorded as an ERROR with its reason.
      get decision(): "error" | "allowed" {
        return ++reads === 1 ? "error" : "allowed";
      },
    };
    recorder.authzObserver()(check);
    expect(reads).toBe(1);
    const detail = memory.events[0]?.detail;
    expect(
      detail?.$case === "authz" ? [detail.value.decision, detail.value.errorReason] : detail,
    ).toStrictEqual(["AUTHZ_DECISION_ERROR", "EngineError"]);
    expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "UNAVAILABLE", message: "" });
  });
});
