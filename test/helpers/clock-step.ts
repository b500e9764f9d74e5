/**
 * A wall clock that steps back (NTP, a VM resumed, an operator), and the timers code sets after it:
 * waits on a monotonic clock keep their length, waits on `Date.now()` differences grow by the step.
 * Undo both with `vi.restoreAllMocks()`.
 */
import path from "node:path";
import { vi } from "vitest";

/** How far `stepWallClockBack` moves the clock. */
export const STEP_BACK_MS = 60_000;

/** From now on, Date.now() reads STEP_BACK_MS less than the real time. */
export function stepWallClockBack(): void {
  const realNow = Date.now.bind(Date);
  vi.spyOn(Date, "now").mockImplementation(() => realNow() - STEP_BACK_MS);
}

/**
 * Records the delay of every timer set from now on by code under `src/<folder>/` (not the test
 * runner's); each timer runs after at most `capMs`, so a stretched delay fails the assertion
 * instead of hanging.
 */
export function recordTimerDelays(folder: string, capMs: number): number[] {
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  const marker = `${path.sep}src${path.sep}${folder}${path.sep}`;
  vi.spyOn(globalThis, "setTimeout").mockImplementation(((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    if (new Error().stack?.includes(marker)) delays.push(ms ?? 0);
    return realSetTimeout(callback, Math.min(ms ?? 0, capMs), ...args);
  }) as typeof setTimeout);
  return delays;
}
