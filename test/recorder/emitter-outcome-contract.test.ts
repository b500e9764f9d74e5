// A custom emitter must return "accepted", "dropped" or "failed" from emit. One written outside that
// contract (returning nothing, or another word) left its event in no counter at all: the Recorder's
// `accepted + dropped + failed + ...` no longer added up to the events it wrote, and with two
// emitters the odd answer ranked as accepted.
import { describe, expect, it } from "vitest";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";

/** An emitter whose emit returns `answer`, whatever it is. */
function oddEmitter(answer: unknown): Emitter {
  return {
    name: "odd",
    emit: () => answer as "accepted",
    flush: async () => ({ ok: true, results: [] }),
    close: async () => ({ ok: true, results: [] }),
    stats: () => ({ name: "odd", emitted: 0, dropped: {}, failed: 0 }),
  };
}

const mutation = { mutation: "update", resourceType: "project", resourceId: "p-1" } as const;

describe("an emitter whose emit returns something other than an EmitOutcome", () => {
  it.each([["ok"], [undefined], [true], ["x".repeat(100)]])(
    "alone: the event counts as failed and onError names the emitter (%s)",
    (answer) => {
      const errors: Error[] = [];
      const recorder = createRecorder({
        service: "projects",
        emitters: [oddEmitter(answer)],
        onError: (error) => errors.push(error),
      });
      expect(recorder.recordResourceMutation(mutation)).toBe("failed");
      expect(recorder.stats()).toMatchObject({ accepted: 0, dropped: 0, failed: 1 });
      const what = typeof answer === "string" ? JSON.stringify(answer.slice(0, 40)) : typeof answer;
      expect(errors).toStrictEqual([
        new AuditEmitError("odd", `emit returned ${what}, not "accepted", "dropped" or "failed"`),
      ]);
    },
  );

  it("beside another emitter: the call's outcome is failed, not accepted", () => {
    const memory = createMemoryEmitter();
    const errors: Error[] = [];
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory, oddEmitter("ok")],
      onError: (error) => errors.push(error),
    });
    expect(recorder.recordResourceMutation(mutation)).toBe("failed");
    expect(memory.events).toHaveLength(1); // the other emitter still has it
    expect(recorder.stats()).toMatchObject({ accepted: 0, failed: 1, emitter: { failed: 1 } });
    expect(errors.map((error) => error.message)).toStrictEqual([
      'odd: emit returned "ok", not "accepted", "dropped" or "failed"',
    ]);
  });
});
