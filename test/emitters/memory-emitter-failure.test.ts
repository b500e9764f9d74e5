// What a failed memory emitter wait tells the test that made it: the match it waited for, one line
// per event received (the last 10), and a stack that starts at the test's call, not in a timer.
import { describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { SAMPLE_TIME, sampleEvent } from "../helpers/events.js";

const TEST_FILE = "memory-emitter-failure.test.ts";

/** The first `at` line of an error's stack. */
const firstFrame = (error: Error) =>
  error.stack?.split("\n").find((line) => line.trimStart().startsWith("at "));

describe("a failed memory emitter wait", () => {
  // Before the fix: "no matching event within 20 ms; received 1 events: EVENT_TYPE_AUTHZ_DECISION /acme…".
  it("shows the match, fields given as undefined and dates included, and each event's facts", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent());
    memory.emit(sampleEvent({ kind: "resourceMutation", operation: "", actor: undefined }));

    const match = {
      eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
      actor: { id: "carol" },
      target: undefined,
      occurredAt: new Date(SAMPLE_TIME),
    };
    await expect(memory.waitFor(match, { timeoutMs: 20 })).rejects.toThrow(
      new Error(
        `no event matching {"eventType":"EVENT_TYPE_AUTHZ_DECISION","actor":{"id":"carol"},"target":undefined,"occurredAt":"${SAMPLE_TIME}"} within 20 ms; received 2 events:\n` +
          "  authz.decision /acme.projects.v1.ProjectService/UpdateProject actor=user-7 target=project/p-42 result=PERMISSION_DENIED decision=AUTHZ_DECISION_DENIED\n" +
          "  resource.mutation target=project/p-42 result=OK",
      ),
    );
  });

  it("names a predicate, and cuts a long match at 200 characters", async () => {
    const memory = createMemoryEmitter();

    await expect(memory.waitFor(() => false, { timeoutMs: 0 })).rejects.toThrow(
      new Error("no event matching the predicate within 0 ms; received none"),
    );
    const error = await memory.waitFor({ service: "x".repeat(300) }, { timeoutMs: 0 }).catch((e) => e);
    expect(error.message).toBe(
      `no event matching {"service":"${"x".repeat(188)}… within 0 ms; received none`,
    );
  });

  it("says how many events arrived and that it lists the last 10 of them", async () => {
    const memory = createMemoryEmitter();
    for (let i = 1; i <= 12; i++) memory.emit(sampleEvent({ requestId: `req-${i}` }));

    const error = await memory.waitFor({ requestId: "req-0" }, { timeoutMs: 0 }).catch((e) => e);
    const [heading, ...lines] = String(error.message).split("\n");
    expect(heading).toBe(
      'no event matching {"requestId":"req-0"} within 0 ms; the last 10 of 12 events received:',
    );
    expect(lines).toHaveLength(10);
  });

  // Before the fix: "fewer than 1 events within 0 ms; received 0 events: none".
  it("waitForCount says no event, or fewer than N events", async () => {
    const memory = createMemoryEmitter();

    await expect(memory.waitForCount(1, { timeoutMs: 0 })).rejects.toThrow(
      new Error("no event within 0 ms; received none"),
    );
    await expect(memory.waitForCount(2, { timeoutMs: 0 })).rejects.toThrow(
      new Error("fewer than 2 events within 0 ms; received none"),
    );
  });

  // Before the fix: the error was made by the timer, so its stack named memory-emitter.ts's timeout.
  it("rejects with an error whose stack starts at the call, for waitFor and waitForCount", async () => {
    const memory = createMemoryEmitter();

    const forEvent = await memory.waitFor({ service: "billing" }, { timeoutMs: 1 }).catch((e) => e);
    const forCount = await memory.waitForCount(1, { timeoutMs: 1 }).catch((e) => e);

    expect(firstFrame(forEvent)).toContain(TEST_FILE);
    expect(firstFrame(forCount)).toContain(TEST_FILE);
    expect(forEvent.stack).toContain('Error: no event matching {"service":"billing"} within 1 ms');
  });
});
