/**
 * A wall clock that steps back (NTP, a VM resumed, an operator) changes no wait of the pipeline: its
 * deadlines and intervals are on a monotonic clock.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { DIRECT_PLACE } from "../../src/delivery/options.js";
import { Spool } from "../../src/delivery/spool.js";
import { recordTimerDelays, stepWallClockBack } from "../helpers/clock-step.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { numberedEvents, tempDir } from "./helpers.js";

let dir: string;
let removeDir: () => void;

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("clock-step"));
});

afterEach(() => {
  vi.restoreAllMocks();
  removeDir();
});

describe("a wall clock stepping back", () => {
  it("does not stretch close(): its waits stay within timeoutMs", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0 });
    for (const event of numberedEvents(3)) emitter.emit(event);
    // The write (and its writeTimeoutMs timer) has started before the clock steps.
    await until(() => sink.held.length > 0);
    const delays = recordTimerDelays("delivery", 200);
    const closing = emitter.close({ timeoutMs: 200 });
    stepWallClockBack();
    const report = await closing;
    expect(report).toMatchObject({ ok: false, delivered: 0, spooled: 0, dropped: 3, pending: 0 });
    expect(delays.length).toBeGreaterThan(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(200);
  });

  it("does not stretch the spool's pause after a refused commit", async () => {
    const spool = new Spool({
      path: path.join(dir, "spool.db"),
      maxBytes: 1 << 20,
      synchronous: "normal",
      name: "delivery",
      place: DIRECT_PLACE,
      onError: () => {},
      onRefused: () => {},
      onMovedAside: () => {},
      onLost: () => {},
      onGivenUp: () => {},
    });
    try {
      spool.pause(5);
      expect(spool.fits(1)).toBe(false);
      stepWallClockBack();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(spool.fits(1)).toBe(true);
    } finally {
      spool.close();
    }
  });
});
