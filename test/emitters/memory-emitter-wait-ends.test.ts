// How waitFor/waitForCount end when no event can satisfy them: a predicate that throws always rejects
// (never throws from the call), a closed emitter rejects at once saying so, and a timeout says how many
// events the emitter dropped at capacity.
import { describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent } from "../helpers/events.js";

const LISTED =
  "received 1 event:\n  authz.decision /acme.projects.v1.ProjectService/UpdateProject actor=user-7 target=project/p-42 result=PERMISSION_DENIED decision=AUTHZ_DECISION_DENIED";
const predicateError = new Error("predicate exploded");
const throwing = () => {
  throw predicateError;
};

describe("memory emitter waits whose predicate throws", () => {
  // Before the fix: on an event already kept, the predicate's error was thrown by the call itself.
  it("rejects, not throws, when the predicate throws on an event already kept", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent());

    let waiting: Promise<unknown> | undefined;
    expect(() => {
      waiting = memory.waitFor(throwing, { timeoutMs: 0 });
    }).not.toThrow();
    await expect(waiting).rejects.toBe(predicateError);
  });

  it("rejects with the same error when the predicate throws on a later event", async () => {
    const memory = createMemoryEmitter();
    const waiting = memory.waitFor(throwing, { timeoutMs: 1000 });
    memory.emit(sampleEvent());
    await expect(waiting).rejects.toBe(predicateError);
  });
});

describe("memory emitter waits on a closed emitter", () => {
  // Before the fix: the wait ran to its timeout, and the message did not say the emitter was closed.
  it("waitFor rejects at once, counting the events dropped since the close", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent());
    await memory.close();
    expect(memory.emit(sampleEvent())).toBe("dropped");
    expect(memory.emit(sampleEvent())).toBe("dropped");

    await expect(memory.waitFor({ service: "billing" }, { timeoutMs: 0 })).rejects.toThrow(
      new Error(
        `no event matching {"service":"billing"}, and the emitter is closed, so none can come (2 events dropped since); ${LISTED}`,
      ),
    );
  });

  it("waitForCount rejects at once", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent());
    await memory.close();
    expect(memory.emit(sampleEvent())).toBe("dropped");

    await expect(memory.waitForCount(5, { timeoutMs: 0 })).rejects.toThrow(
      new Error(
        `fewer than 5 events, and the emitter is closed, so none can come (1 event dropped since); ${LISTED}`,
      ),
    );
  });

  it("still resolves with what it kept before the close", async () => {
    const memory = createMemoryEmitter();
    const event = sampleEvent();
    memory.emit(event);
    await memory.close();

    await expect(memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION })).resolves.toBe(event);
    await expect(memory.waitForCount(1)).resolves.toStrictEqual([event]);
  });

  it("rejects a wait in progress when the emitter is closed", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent());
    // close() runs before the timer can fire: the wait ends by the close, not by its timeout.
    const forEvent = memory.waitFor({ service: "billing" }, { timeoutMs: 50 });
    const forCount = memory.waitForCount(3, { timeoutMs: 50 });
    forEvent.catch(() => {}); // asserted below
    forCount.catch(() => {});
    await memory.close();

    await expect(forEvent).rejects.toThrow(
      new Error(`no event matching {"service":"billing"} before the emitter was closed; ${LISTED}`),
    );
    await expect(forCount).rejects.toThrow(
      new Error(`fewer than 3 events before the emitter was closed; ${LISTED}`),
    );
  });
});

describe("memory emitter waits at capacity", () => {
  // Before the fix: the message listed what was kept, not that later events had been dropped.
  it("says how many events were dropped at capacity", async () => {
    const memory = createMemoryEmitter({ capacity: 1 });
    memory.emit(sampleEvent());
    expect(memory.emit(sampleEvent())).toBe("dropped");

    await expect(memory.waitForCount(2, { timeoutMs: 0 })).rejects.toThrow(
      new Error(`fewer than 2 events within 0 ms; 1 event dropped at capacity (it keeps 1); ${LISTED}`),
    );
    expect(memory.emit(sampleEvent())).toBe("dropped");
    await expect(memory.waitFor({ service: "billing" }, { timeoutMs: 0 })).rejects.toThrow(
      new Error(
        `no event matching {"service":"billing"} within 0 ms; 2 events dropped at capacity (it keeps 1); ${LISTED}`,
      ),
    );
  });
});
