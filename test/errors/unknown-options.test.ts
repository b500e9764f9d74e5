// rejectUnknownOptions: the check every factory runs on its option names, so a misspelt setting
// fails at construction instead of never applying.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { rejectUnknownOptions } from "../../src/errors/unknown-options.js";

const KNOWN = ["flushIntervalMs", "maxQueueEvents", "failMode", "redactPatterns"];

describe("rejectUnknownOptions", () => {
  it("lets known names and undefined values through", () => {
    expect(() =>
      rejectUnknownOptions(
        "delivery emitter",
        { flushIntervalMs: 5, failMode: "open", other: undefined },
        KNOWN,
      ),
    ).not.toThrow();
  });

  it("names a misspelt option and the known name it is nearest", () => {
    const cases: [string, string][] = [
      ["flushIntervalMS", "flushIntervalMs"],
      ["failmode", "failMode"],
      ["redactPattern", "redactPatterns"],
      ["maxQueueEvent", "maxQueueEvents"],
      ["maxQeueEvents", "maxQueueEvents"],
    ];
    for (const [typo, meant] of cases) {
      expect(() => rejectUnknownOptions("delivery emitter", { [typo]: 1 }, KNOWN)).toThrow(
        new AuditConfigError(`delivery emitter: unknown option \`${typo}\` (did you mean \`${meant}\`?)`),
      );
    }
  });

  it("names the option a unit was left off (three edits away)", () => {
    expect(() =>
      rejectUnknownOptions("jwt authenticator", { clockTolerance: 5 }, ["clockToleranceSec"]),
    ).toThrow("jwt authenticator: unknown option `clockTolerance` (did you mean `clockToleranceSec`?)");
  });

  it("lists the known names when none is near, and shows a hostile key safely", () => {
    expect(() => rejectUnknownOptions("recorder", { colour: "red" }, KNOWN)).toThrow(
      "recorder: unknown option `colour`; known options: flushIntervalMs, maxQueueEvents, failMode, redactPatterns",
    );
    expect(() => rejectUnknownOptions("recorder", { [`a\nb${"x".repeat(50)}`]: 1 }, KNOWN)).toThrow(
      `recorder: unknown option \`a\\nb${"x".repeat(37)}…\``,
    );
  });
});
