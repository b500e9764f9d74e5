/**
 * A wall clock that steps back (NTP, a VM resumed, an operator) changes no wait of the pipeline: its
 * deadlines and intervals are on a monotonic clock.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { Spool } from "../../src/delivery/spool.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { numberedEvents, tempDir } from "./helpers.js";

const STEP_BACK_MS = 60_000;

let dir: string;
let removeDir: () => void;

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("clock-step"));
});

afterEach(() => {
  vi.restoreAllMocks();
  removeDir();
});

/** From now on, Date.now() reads STEP_BACK_MS less than the real time. */
function stepWallClockBack(): void {
  const realNow = Date.now.bind(Date);
  vi.spyOn(Date, "now").mockImplementation(() => realNow() - STEP_BACK_MS);
}

/**
 * Records the delay of every timer the delivery code sets from now on (not the test runner's); each
 * timer runs after at most `capMs`, so a stretched delay fails the assertion instead of hanging.
 */
function recordTimerDelays(capMs: number): number[] {
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  vi.spyOn(globalThis, "setTimeout").mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    if (new Error().stack?.includes(`${path.sep}src${path.sep}delivery${path.sep}`)) delays.push(ms ?? 0);
    return realSetTimeout(callback, Math.min(ms ?? 0, capMs), ...args);
  }) as typeof setTimeout);
  return delays;
}

describe("a wall clock stepping back", () => {
  it("does not stretch close(): its waits stay within timeoutMs", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0 });
    for (const event of numberedEvents(3)) emitter.emit(event);
    // The write (and its writeTimeoutMs timer) has started before the clock steps.
    await until(() => sink.held.length > 0);
    const delays = recordTimerDelays(200);
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
