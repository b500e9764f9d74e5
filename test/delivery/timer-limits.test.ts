/**
 * Timeouts above what a Node timer holds (2^31 - 1 ms, ~24.8 days). setTimeout fires such a
 * timer after 1 ms (with a TimeoutOverflowWarning), so an option that was accepted silently means
 * the opposite: a write timeout "of a month" aborts every write after 1 ms, and nothing is delivered.
 * Such options are refused with a precise AuditConfigError; a flush or close given such a wait waits.
 */
import { describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { numberedEvents } from "./helpers.js";

const MAX_TIMER_MS = 2 ** 31 - 1;

describe("delivery emitter: timeout options beyond a Node timer", () => {
  it.each([
    ["writeTimeoutMs", { writeTimeoutMs: MAX_TIMER_MS + 1 }, 1],
    ["flushTimeoutMs", { flushTimeoutMs: MAX_TIMER_MS + 1 }, 0],
    ["closeTimeoutMs", { closeTimeoutMs: MAX_TIMER_MS + 1 }, 0],
    ["flushIntervalMs", { flushIntervalMs: MAX_TIMER_MS + 1 }, 0],
    ["retry.maxDelayMs", { retry: { maxDelayMs: MAX_TIMER_MS + 1 } }, 0],
    ["park.timeoutMs", { park: { timeoutMs: MAX_TIMER_MS + 1 } }, 0],
  ])("refuses %s, naming it and the limit", (name, options, min) => {
    expect(() => createDeliveryEmitter({ sink: createFakeSink(), ...options })).toThrow(AuditConfigError);
    expect(() => createDeliveryEmitter({ sink: createFakeSink(), ...options })).toThrow(
      `delivery emitter: ${name} must be a number of ms from ${min} to 2147483647 (what a timer holds), got 2147483648`,
    );
  });

  it("takes the largest a timer holds", async () => {
    const emitter = createDeliveryEmitter({ sink: createFakeSink(), writeTimeoutMs: MAX_TIMER_MS });
    for (const event of numberedEvents(1)) emitter.emit(event);
    expect(await emitter.flush({ timeoutMs: 2000 })).toMatchObject({ ok: true, pending: 0 });
    await emitter.close({ timeoutMs: 10 });
  });
});

describe("delivery emitter: flush({ timeoutMs }) beyond a Node timer", () => {
  it("waits for the sink instead of giving up after 1 ms", async () => {
    const sink = createFakeSink();
    sink.delayMs = 30;
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0 });
    for (const event of numberedEvents(3)) emitter.emit(event);
    const report = await emitter.flush({ timeoutMs: MAX_TIMER_MS + 1 });
    await emitter.close({ timeoutMs: 10 });
    expect(report).toMatchObject({ ok: true, pending: 0 });
  });
});
