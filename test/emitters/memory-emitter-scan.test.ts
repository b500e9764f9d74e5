// What a pending wait costs each emit (emit runs on the RPC path): a wait scans the events kept once,
// when it starts, and then tests each later event alone. Counted in tests of the match, not in time.
import { describe, expect, it } from "vitest";
import { createMemoryEmitter, type EventMatch } from "../../src/emitters/memory-emitter.js";
import { sampleEvent } from "../helpers/events.js";

const KEPT = 100;
const LATER = 200;

describe("a pending memory emitter wait", () => {
  // Before the fix: each emit tested every event kept again, 100 + (101 + … + 300) = 40,200 tests here.
  it("tests a predicate once per event kept before it and once per event after", async () => {
    const memory = createMemoryEmitter();
    for (let i = 0; i < KEPT; i++) memory.emit(sampleEvent());
    let tests = 0;
    const waiting = memory.waitFor(
      () => {
        tests++;
        return false;
      },
      { timeoutMs: 60_000 },
    );
    waiting.catch(() => {}); // ended by the close below

    for (let i = 0; i < LATER; i++) memory.emit(sampleEvent());

    expect(tests).toBe(KEPT + LATER);
    await memory.close();
    await expect(waiting).rejects.toThrow("before the emitter was closed");
  });

  it("tests an object match once per event kept before it and once per event after", async () => {
    const memory = createMemoryEmitter();
    for (let i = 0; i < KEPT; i++) memory.emit(sampleEvent());
    // A getter counts the reads of the field, one per test of an event.
    let tests = 0;
    const match: EventMatch = {
      get service() {
        tests++;
        return "never";
      },
    };
    const waiting = memory.waitFor(match, { timeoutMs: 60_000 });
    waiting.catch(() => {}); // ended by the close below

    for (let i = 0; i < LATER; i++) memory.emit(sampleEvent());

    expect(tests).toBe(KEPT + LATER);
    await memory.close();
    await expect(waiting).rejects.toThrow("before the emitter was closed");
  });

  it("still resolves with the first matching event kept after it started", async () => {
    const memory = createMemoryEmitter();
    memory.emit(sampleEvent({ requestId: "req-1" }));
    const waiting = memory.waitFor({ requestId: "req-2" });
    const first = sampleEvent({ requestId: "req-2" });

    memory.emit(sampleEvent({ requestId: "req-3" }));
    memory.emit(first);
    memory.emit(sampleEvent({ requestId: "req-2" }));

    await expect(waiting).resolves.toBe(first);
  });
});
