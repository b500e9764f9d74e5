import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { checkTimerMs, MAX_TIMER_MS, shown } from "../../src/errors/option-checks.js";

describe("checkTimerMs", () => {
  it("gives back a delay a Node timer holds", () => {
    expect(checkTimerMs("x: `waitMs`", 1)).toBe(1);
    expect(checkTimerMs("x: `waitMs`", MAX_TIMER_MS)).toBe(2 ** 31 - 1);
    expect(checkTimerMs("x: `waitMs`", 0, { min: 0 })).toBe(0);
    expect(checkTimerMs("x: `waitMs`", 2.5, { integer: false })).toBe(2.5);
  });

  it.each([
    [2 ** 31, {}, "an integer of ms from 1", "2147483648"],
    [0, {}, "an integer of ms from 1", "0"],
    [-1, { min: 0 as const }, "an integer of ms from 0", "-1"],
    [1.5, {}, "an integer of ms from 1", "1.5"],
    [Number.NaN, { integer: false }, "a number of ms from 1", "NaN"],
    [Number.POSITIVE_INFINITY, { integer: false }, "a number of ms from 1", "Infinity"],
    ["1000", {}, "an integer of ms from 1", '"1000"'],
    [null, {}, "an integer of ms from 1", "null"],
    [{}, {}, "an integer of ms from 1", "an object"],
  ])("refuses %s, naming the option, the range and the value", (value, options, range, value_) => {
    expect(() => checkTimerMs("x: `waitMs`", value, options)).toThrow(
      new AuditConfigError(
        `x: \`waitMs\` must be ${range} to 2147483647 (what a timer holds), got ${value_}`,
      ),
    );
  });
});

describe("shown", () => {
  it("quotes strings, cut at 40 characters, and shows objects by their type only", () => {
    expect(shown("abc")).toBe('"abc"');
    expect(shown("x".repeat(50))).toBe(JSON.stringify(`${"x".repeat(40)}…`));
    expect(shown(5)).toBe("5");
    expect(shown(undefined)).toBe("undefined");
    expect(shown({ password: "hunter2" })).toBe("an object");
    expect(shown(["secret"])).toBe("an array");
    expect(shown(() => 1)).toBe("function");
  });
});
