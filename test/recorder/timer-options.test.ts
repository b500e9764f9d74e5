// The Recorder's timer options take whole milliseconds, as the interceptors' do.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";

describe("the Recorder's timer options", () => {
  // Before the fix: accepted, while `closeWaitMs` and the interceptors' timers refused fractions.
  it("refuses a summaryEveryMs that is not a whole number of ms", () => {
    expect(() =>
      createRecorder({
        service: "s",
        emitters: [{ kind: "noop" }],
        record: { "authn.result": "failures" },
        summaryEveryMs: 1500.5,
      }),
    ).toThrow(
      new AuditConfigError(
        "createRecorder: `summaryEveryMs` (0: no summaries) must be an integer of ms from 1 to 2147483647 (what a timer holds), got 1500.5",
      ),
    );
  });
});
