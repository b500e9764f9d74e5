import fs from "node:fs";
import { MAX_TIMER_MS } from "../errors/option-checks.js";
import type { SonicBoomLike } from "./line-batcher.js";

/** How waiting for a destination ended: all written, or the deadline came first. */
export type DrainOutcome = "ok" | "timeout";

/**
 * A deadline `ms` from now, on the monotonic clock every deadline of the log emitter uses: a wall
 * clock stepped back would stretch the waits. @internal
 */
export function deadlineIn(ms: number): number {
  return performance.now() + ms;
}

/** The delay of a timer that fires at `deadline` (from `deadlineIn`). @internal */
export function msUntil(deadline: number): number {
  return Math.min(Math.max(deadline - performance.now(), 0), MAX_TIMER_MS);
}

/**
 * Waits, without blocking the event loop, until SonicBoom has written every byte it held when called,
 * then syncs the file to disk (ignored where it cannot be, as on a pipe); "timeout" when `deadline`
 * (from `deadlineIn`) comes first. Rejects with the destination's error when a write fails.
 *
 * Never calls SonicBoom's `flushSync`: on a pipe nobody reads it blocks the event loop forever. The
 * bytes are written by SonicBoom's own asynchronous writes, which keep them in order; lines written
 * while it waits are not waited for, so a busy server's flush() ends.
 * @internal
 */
export function drainSonicBoom(sonic: SonicBoomLike, deadline: number): Promise<DrainOutcome> {
  return new Promise<DrainOutcome>((resolve, reject) => {
    // SonicBoom writes in order, so the bytes held now are written once this many more have been.
    let left = sonic._len;
    const detach = () => {
      sonic.off("write", onWrite);
      sonic.off("drain", onDrain);
      sonic.off("error", onError);
    };
    const settle = (outcome: DrainOutcome) => {
      clearTimeout(timer);
      detach();
      resolve(outcome);
    };
    const written = () => {
      detach();
      // On disk too, as flushSync did, but without blocking (a pipe cannot be synced: ignored).
      if (sonic.fd < 0) settle("ok");
      else fs.fsync(sonic.fd, () => settle("ok"));
    };
    // "write" comes before SonicBoom takes the bytes off its count.
    const onWrite = (bytes: number) => {
      left = Math.min(left - bytes, sonic._len - bytes);
      if (left <= 0) written();
    };
    const onDrain = () => {
      left = Math.min(left, sonic._len); // bytes written without a "write" event (another flushSync)
      if (left <= 0) written();
      else if (!sonic._writing && sonic.fd >= 0) {
        try {
          kick(sonic);
        } catch (error) {
          onError(error); // SonicBoom throws once it is destroyed
        }
      }
    };
    const onError = (error: unknown) => {
      clearTimeout(timer);
      detach();
      reject(error);
    };
    const timer = setTimeout(() => settle("timeout"), msUntil(deadline));
    sonic.on("write", onWrite);
    sonic.on("drain", onDrain);
    sonic.on("error", onError);
    onDrain();
  });
}

/**
 * Starts an asynchronous write of what SonicBoom holds while it is idle: below its `minLength`, or
 * after a failed write (which it retries on the next write).
 */
function kick(sonic: SonicBoomLike): void {
  if (sonic.minLength > 0) sonic.flush();
  else sonic.write("");
}

/**
 * The lines SonicBoom holds that are not yet written, counted by their newline (a line written in
 * part is not written). Each pino line ends with the only newline it has: JSON escapes the others.
 * Includes the write in progress: when the OS took part of it and has not returned (a blocking pipe
 * that is full), the lines it took are still counted.
 * @internal
 */
export function unwrittenLines(sonic: SonicBoomLike): number {
  if (sonic._len === 0) return 0;
  let count = newlines(sonic._writingBuf);
  for (const chunk of sonic._bufs) count += newlines(chunk);
  return count;
}

/** Newlines in a string, a Buffer, or an array of them (SonicBoom's "buffer" mode). */
function newlines(chunk: unknown): number {
  let count = 0;
  if (typeof chunk === "string") {
    for (let at = chunk.indexOf("\n"); at !== -1; at = chunk.indexOf("\n", at + 1)) count++;
  } else if (Buffer.isBuffer(chunk)) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
  } else if (Array.isArray(chunk)) {
    for (const part of chunk) count += newlines(part);
  }
  return count;
}
