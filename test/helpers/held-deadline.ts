// A call deadline that the server reads as exactly the client's, however late it reads the call.
//
// grpc-js sends a deadline as grpc-timeout, a time from when the client wrote the call, and the server
// takes its deadline as its own clock when it read the call plus that time. On a loaded machine that
// read the call 100 ms or more after the client wrote it (client and server share one event loop, which
// a stall holds up), the server's deadline lay past the client's by more than DEADLINE_TOLERANCE_MS,
// so the reset the client's deadline timer sends reached the server "before its deadline", and the
// expired deadline was recorded as the client's cancel. Here only Date and performance.now (on which
// the server measures the time to its deadline) are faked, and held still from the call until the
// client's deadline timer (a real timer) has fired: both ends compute the same deadline, and
// `passed()`, called when the client saw DEADLINE_EXCEEDED (in the same turn: grpc-js reports it with
// process.nextTick), moves both clocks to it before the server reads the reset (an I/O read, a later
// phase of the loop).
import { vi } from "vitest";

/**
 * How far the deadline is from the call: a bound only on how soon the server reads the call (the
 * client's timer runs from the call's start, and a call the server never read before it is not sent
 * or not seen); far above what a loaded machine takes, and below the 1.5 s the test servers' "slow"
 * handlers take.
 */
export const HELD_DEADLINE_MS = 1000;

export interface HeldDeadline {
  /** The call's deadline (ms since the epoch, on the held clock). */
  readonly deadline: number;
  /** Moves the held clock to the deadline: call it as soon as the client saw DEADLINE_EXCEEDED. */
  passed(): void;
  /** Gives Date back (also after a failure: call it in `finally`). */
  release(): void;
}

/** Fakes Date and performance.now, held still, and returns a deadline `ms` from now on Date. */
export function holdDeadline(ms = HELD_DEADLINE_MS): HeldDeadline {
  vi.useFakeTimers({ toFake: ["Date", "performance"] });
  const deadline = Date.now() + ms;
  return {
    deadline,
    // Time passing, not a step of the wall clock: both clocks move (no timer is faked, none fires).
    passed: () => vi.advanceTimersByTime(deadline - Date.now()),
    release: () => vi.useRealTimers(),
  };
}
