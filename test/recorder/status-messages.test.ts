import { describe, expect, it } from "vitest";
import {
  AuditConfigError,
  createRecorder,
  eventToJson,
  type RecorderOptions,
  type ResourceMutationInput,
} from "../../src/index.js";
import { statusMessageRewrite } from "../../src/recorder/status-message.js";
import { createMemoryEmitter } from "../../src/testing/index.js";

/** A failed mutation whose status message is `message`, as a rules interceptor reports it. */
const failed = (message: string): ResourceMutationInput => ({
  mutation: "create",
  resourceType: "project",
  resourceId: "p-1",
  result: { success: false, code: "FAILED_PRECONDITION", message },
});

/** What events recorded with `options` keep of each of `messages`. */
function kept(options: Partial<RecorderOptions>, ...messages: string[]): string[] {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory], ...options });
  for (const message of messages) expect(recorder.recordResourceMutation(failed(message))).toBe("accepted");
  return memory.events.map((event) => event.result?.message ?? "missing");
}

const LEAK = "db password=hunter2 refused";

describe("status messages policy", () => {
  it('cuts a message to 256 bytes by default ("truncate"), and to 1024 with "record"', () => {
    const long = "x".repeat(5000);
    const short = `${"x".repeat(256)}…[truncated 4744 bytes]`;
    const cut = `${"x".repeat(1024)}…[truncated 3976 bytes]`;
    expect(kept({}, LEAK, long)).toStrictEqual([LEAK, short]);
    expect(kept({ statusMessages: "truncate" }, LEAK, long)).toStrictEqual([LEAK, short]);
    expect(kept({ statusMessages: "record" }, LEAK, long)).toStrictEqual([LEAK, cut]);
  });

  it('keeps no message with "omit", on every event kind, patterns or not', () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory],
      statusMessages: "omit",
      redactPatterns: [/password=\S+/],
    });
    const result = { success: false, code: "INTERNAL", message: LEAK };
    recorder.recordResourceMutation(failed(LEAK));
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "error", result });
    recorder.recordAuthzDecision({
      relation: "r",
      objectType: "o",
      objectId: "1",
      decision: "error",
      result,
    });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "u", relation: "r", object: "o:1" }],
      result,
    });
    expect(memory.events.map((event) => event.result)).toStrictEqual(
      [1, 2, 3, 4].map(() => expect.objectContaining({ success: false, message: "" })),
    );
    expect(JSON.stringify(memory.events.map(eventToJson))).not.toContain("hunter2");
  });

  it('replaces each match of each pattern with "[redacted]", whatever the pattern\'s flags', () => {
    const sticky = /token=\w+/y;
    const used = /password=\S+/g;
    used.test("password=a password=b"); // the caller's pattern is left mid-string: lastIndex > 0
    expect(used.lastIndex).toBeGreaterThan(0);
    const message = "password=a1 then token=t1, password=a2 and token=t2";
    expect(kept({ redactPatterns: [used, sticky] }, message, LEAK)).toStrictEqual([
      "[redacted] then [redacted], [redacted] and [redacted]",
      "db [redacted] refused",
    ]);
    expect(kept({ redactPatterns: [/PASSWORD=\S+/i] }, "Password=x1 PASSWORD=x2")).toStrictEqual([
      "[redacted] [redacted]",
    ]);
  });

  it("redacts before the cut, so a secret across the byte limit leaves no part behind", () => {
    // The secret runs from byte 1001 to 1050: cut first, its first 14 characters would stay.
    const message = `${"x".repeat(1000)} password=${"s".repeat(40)} end`;
    const record = { statusMessages: "record", redactPatterns: [/password=\S+/] } as const;
    expect(kept(record, message)[0]).toBe(`${"x".repeat(1000)} [redacted] end`);
    expect(kept({ statusMessages: "record" }, message)[0]).toContain(`password=${"s".repeat(14)}…[truncated`);
    // The same across the default 256-byte cut.
    const early = `${"x".repeat(240)} password=${"s".repeat(40)} end`;
    expect(kept({ redactPatterns: [/password=\S+/] }, early)[0]).toBe(`${"x".repeat(240)} [redacted] end`);
  });

  it("leaves the caller's input untouched", () => {
    const input = failed(LEAK);
    const memory = createMemoryEmitter();
    createRecorder({
      service: "s",
      emitters: [memory],
      redactPatterns: [/password=\S+/],
    }).recordResourceMutation(input);
    expect([input.result?.message, memory.events[0]?.result?.message]).toStrictEqual([
      LEAK,
      "db [redacted] refused",
    ]);
  });

  it('does no work per event with "record" and no patterns', () => {
    expect(statusMessageRewrite("record", undefined)).toBeUndefined();
    expect(statusMessageRewrite("record", [])).toBeUndefined();
    expect(statusMessageRewrite(undefined, undefined)?.(LEAK)).toBe(LEAK); // "truncate": short ones stay
    expect(statusMessageRewrite("omit", undefined)?.(LEAK)).toBe("");
  });

  it.each([
    [
      "an unknown policy",
      { statusMessages: "full" },
      '`statusMessages` must be "omit", "truncate" or "record"',
    ],
    [
      "patterns that are not a list",
      { redactPatterns: /password/ },
      "`redactPatterns` must be a list of RegExp",
    ],
    [
      "a pattern given as a string",
      { redactPatterns: ["password=\\S+"] },
      "`redactPatterns` must be a list of RegExp",
    ],
    [
      "a pattern matching nothing at all",
      { redactPatterns: [/x/, /(secret)?/] },
      "`redactPatterns[1]` matches the empty string",
    ],
  ])("throws an AuditConfigError for %s", (_name, options, message) => {
    const create = createRecorder as (options: unknown) => unknown;
    const full = { service: "s", emitters: [{ kind: "noop" }], ...options };
    expect(() => create(full)).toThrow(AuditConfigError);
    expect(() => create(full)).toThrow(`createRecorder: ${message}`);
  });
});

describe("a record call's own statusMessages policy", () => {
  const long = `${LEAK} ${"x".repeat(2000)}`;

  /** What one event recorded with `options` keeps of `long` when its input asks for `policy`. */
  function keptWith(options: Partial<RecorderOptions>, policy: ResourceMutationInput["statusMessages"]) {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory], ...options });
    const input = { ...failed(long), ...(policy === undefined ? {} : { statusMessages: policy }) };
    expect(recorder.recordResourceMutation(input)).toBe("accepted");
    return memory.events[0]?.result?.message;
  }

  it("overrides the Recorder's policy for that event only", () => {
    expect(keptWith({ statusMessages: "record" }, "omit")).toBe("");
    expect(keptWith({ statusMessages: "omit" }, "record")).toBe(
      `${long.slice(0, 1024)}…[truncated 1004 bytes]`,
    );
    expect(keptWith({ statusMessages: "record" }, "truncate")).toBe(
      `${long.slice(0, 256)}…[truncated 1772 bytes]`,
    );
    expect(keptWith({ statusMessages: "omit" }, undefined)).toBe("");
  });

  it("still applies the Recorder's redaction patterns, whatever the policy", () => {
    const options = { statusMessages: "omit" as const, redactPatterns: [/password=\S+/] };
    expect(keptWith(options, "record")).toBe(
      `db [redacted] refused ${"x".repeat(1002)}…[truncated 998 bytes]`,
    );
    expect(keptWith(options, "truncate")).toMatch(/^db \[redacted\] refused x+…\[truncated \d+ bytes\]$/);
  });

  it("refuses an input with a policy it does not know, without echoing it", () => {
    const memory = createMemoryEmitter();
    const errors: Error[] = [];
    const recorder = createRecorder({ service: "s", emitters: [memory], onError: (e) => errors.push(e) });
    const record = recorder.recordResourceMutation as (input: unknown) => string;
    expect(record({ ...failed(LEAK), statusMessages: "verbatim" })).toBe("failed");
    expect(errors.map((e) => e.message)).toStrictEqual([
      "recordResourceMutation: statusMessages must be one of omit, truncate, record, got a string of length 8",
    ]);
    expect(memory.events).toStrictEqual([]);
  });
});
