import { describe, expect, it } from "vitest";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { DETAIL_KINDS, sampleEvent, sampleEvents } from "../helpers/events.js";

describe("createNoopEmitter", () => {
  it("accepts every event and counts it as emitted", () => {
    const emitter = createNoopEmitter();

    const events = sampleEvents();
    expect(events.map((event) => emitter.emit(event))).toStrictEqual(events.map(() => "accepted"));

    expect(emitter.name).toBe("noop");
    expect(emitter.stats()).toStrictEqual({
      name: "noop",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
    });
  });

  it("uses the given name in stats and reports", async () => {
    const emitter = createNoopEmitter({ name: "discard" });
    emitter.emit(sampleEvent());

    expect(emitter.name).toBe("discard");
    expect(emitter.stats()).toStrictEqual({ name: "discard", emitted: 1, dropped: {}, failed: 0 });
    expect(await emitter.flush()).toStrictEqual({
      ok: true,
      results: [{ emitter: "discard", status: "ok" }],
    });
  });

  it("flush() reports ok and keeps accepting", async () => {
    const emitter = createNoopEmitter();

    expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "noop", status: "ok" }] });
    expect(emitter.emit(sampleEvent())).toBe("accepted");
    expect(emitter.stats()).toStrictEqual({ name: "noop", emitted: 1, dropped: {}, failed: 0 });
  });

  it("drops and counts events emitted after close", async () => {
    const emitter = createNoopEmitter();
    emitter.emit(sampleEvent());

    expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "noop", status: "ok" }] });
    expect(emitter.emit(sampleEvent())).toBe("dropped");
    expect(emitter.emit(sampleEvent())).toBe("dropped");

    expect(emitter.stats()).toStrictEqual({ name: "noop", emitted: 1, dropped: { closed: 2 }, failed: 0 });
    expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "noop", status: "ok" }] });
  });

  it("returns a copy of its counters from stats()", () => {
    const emitter = createNoopEmitter();
    const before = emitter.stats();
    before.emitted = 99;
    before.dropped.closed = 99;

    emitter.emit(sampleEvent());

    expect(emitter.stats()).toStrictEqual({ name: "noop", emitted: 1, dropped: {}, failed: 0 });
  });
});
