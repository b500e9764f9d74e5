// Inputs and options the Recorder used to take without a word: misspelt option names, a log emitter
// spec whose failures never reached the Recorder's onError, non-Error values handed to onError, trace
// ids that are no W3C ids, a success with a failure's status code, and error messages with a stray dot.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { fixedRecorder } from "../helpers/recorder.js";

const MUTATION = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;

describe("Recorder options", () => {
  // Before the fix: accepted, and the setting never applied.
  it.each([
    [
      "redactPattern",
      { redactPattern: [/secret/] },
      "unknown option `redactPattern` (did you mean `redactPatterns`?)",
    ],
    [
      "summaryEveryMS",
      { summaryEveryMS: 5 },
      "unknown option `summaryEveryMS` (did you mean `summaryEveryMs`?)",
    ],
    ["onerror", { onerror: () => {} }, "unknown option `onerror` (did you mean `onError`?)"],
  ])("refuses the misspelt option %s", (_name, extra, message) => {
    expect(() => createRecorder({ service: "s", emitters: [{ kind: "noop" }], ...extra } as never)).toThrow(
      new AuditConfigError(`createRecorder: ${message}`),
    );
  });

  it.each([
    [-1, "-1"],
    [1.5, "1.5"],
    [2 ** 31, "2147483648"],
    ["10", '"10"'],
  ])("refuses closeWaitMs %j", (closeWaitMs, shown) => {
    expect(() =>
      createRecorder({ service: "s", emitters: [{ kind: "noop" }], closeWaitMs: closeWaitMs as number }),
    ).toThrow(
      new AuditConfigError(
        `createRecorder: \`closeWaitMs\` must be an integer of ms from 0 to 2147483647 (what a timer holds), got ${shown}`,
      ),
    );
  });

  it("takes closeWaitMs 0 (no wait)", async () => {
    const recorder = createRecorder({ service: "s", emitters: [{ kind: "noop" }], closeWaitMs: 0 });
    expect((await recorder.close()).ok).toBe(true);
  });

  // Before the fix: the log emitter built from the spec had no onError; its overload went unheard.
  it("passes its onError to a log emitter given as a spec", () => {
    const heard: string[] = [];
    const stuck = new Writable({ write() {}, highWaterMark: 16 }); // never completes a write
    const recorder = createRecorder({
      service: "s",
      emitters: [{ kind: "log", destination: stuck, maxBufferedBytes: 64 }],
      onError: (error) => heard.push(`${error.constructor.name}: ${error.message}`),
    });
    expect([
      recorder.recordResourceMutation(MUTATION),
      recorder.recordResourceMutation(MUTATION),
    ]).toStrictEqual(["accepted", "dropped"]);
    expect(heard).toStrictEqual([
      "AuditEmitError: log: dropping events (buffer_full): 64 bytes wait for a destination that does not keep up; counted in stats() until it catches up",
    ]);
  });
});

describe("Recorder.reportError", () => {
  // Before the fix: onError, typed (error: Error) => void, got the string and undefined as they were.
  it("hands onError an Error for a value that is not one, and counts it", () => {
    const { recorder, errors } = fixedRecorder();
    const report = recorder.reportError as (error: unknown) => void;
    report("boom");
    report(undefined);
    expect(errors.map((error) => [error instanceof Error, error.message])).toStrictEqual([
      [true, "boom"],
      [true, "non-Error value thrown"],
    ]);
    expect(recorder.stats().errors).toBe(2);
  });
});

describe("record inputs", () => {
  const refusal = (input: object) => {
    const { recorder, errors, memory } = fixedRecorder();
    const outcome = recorder.recordResourceMutation(input as never);
    expect(memory.events).toStrictEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuditInputError);
    return [outcome, errors[0]?.message];
  };

  it.each([
    // Before the fix: "actor.must be an object".
    ["an actor that is a string", { actor: "alice" }, "actor must be an object, got a string of length 5"],
    ["a result that is a number", { result: 5 }, "result must be an object, got number"],
    // Before the fix: stored as they were, though documented as W3C ids.
    [
      "a traceId that is no W3C id",
      { traceId: "zz" },
      "traceId must be 32 lowercase hex digits, not all zero (a W3C id), or empty, got a string of length 2",
    ],
    [
      "an all-zero spanId",
      { spanId: "0".repeat(16) },
      "spanId must be 16 lowercase hex digits, not all zero (a W3C id), or empty, got a string of length 16",
    ],
    // Before the fix: an event that said both success and INTERNAL.
    [
      "a success with a failure's code",
      { result: { success: true, code: "INTERNAL" } },
      "result.code must be OK (0) or absent when success is true, got INTERNAL",
    ],
    // Before the fix: recorded as UNKNOWN.
    [
      "a code that is no gRPC status",
      { result: { success: false, code: "FOO" } },
      'result.code must be a gRPC status number (0 to 16) or name ("NOT_FOUND"), got a string of length 3',
    ],
    [
      "a status number out of range",
      { result: { success: false, code: 17 } },
      'result.code must be a gRPC status number (0 to 16) or name ("NOT_FOUND"), got number',
    ],
  ])("refuses %s with a precise message", (_name, extra, problem) => {
    expect(refusal({ ...MUTATION, ...extra })).toStrictEqual([
      "failed",
      `recordResourceMutation: ${problem}`,
    ]);
  });

  it("records W3C ids, an empty one, and codes by number or name", () => {
    const { recorder, memory, errors } = fixedRecorder();
    const inputs = [
      {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        result: { success: true, code: 0 },
      },
      { traceId: "", spanId: "", result: { success: false, code: "NOT_FOUND" } },
      { result: { success: false, code: 2 } },
      { result: { success: false, code: "UNKNOWN" } },
    ];
    for (const extra of inputs)
      expect(recorder.recordResourceMutation({ ...MUTATION, ...extra })).toBe("accepted");
    expect(errors).toStrictEqual([]);
    expect(memory.events.map((event) => [event.traceId, event.result?.code])).toStrictEqual([
      ["4bf92f3577b34da6a3ce929d0e0e4736", "OK"],
      ["", "NOT_FOUND"],
      ["", "UNKNOWN"],
      ["", "UNKNOWN"],
    ]);
  });
});

describe("Recorder.close", () => {
  // It takes no options, and an argument never stops it closing: events not written would be lost
  // (an event handler hands it a signal name, a test hook its context object).
  it.each([["SIGTERM"], [{ timeoutMs: -1 }]])("closes when handed %s", async (argument) => {
    const { recorder } = fixedRecorder();
    const close = recorder.close as (argument: unknown) => Promise<{ ok: boolean }>;
    expect((await close(argument)).ok).toBe(true);
    expect(recorder.recordResourceMutation(MUTATION)).toBe("dropped");
  });
});
