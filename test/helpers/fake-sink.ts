/**
 * A fake EventSink for delivery tests: it records every write, and can be told to acknowledge, fail,
 * hold writes until the test settles them, or be slow.
 */
import { onTestFailed } from "vitest";
import type { EncodedEvent, EventSink, SinkWriteOptions } from "../../src/emitters/sink.js";
import { decodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

/**
 * What the next writes do:
 * - "ack": resolve (after `delayMs`);
 * - "fail": reject with `error` without taking the batch;
 * - "take-and-fail": take the batch (it counts as received) but reject, as a broker that stored a
 *   batch and then lost the connection before acknowledging it;
 * - "hold": wait in `held` until the test calls `ackHeld()` or `failHeld()`; the abort signal is ignored,
 *   like a sink that hangs.
 */
export type FakeSinkMode = "ack" | "fail" | "take-and-fail" | "hold";

export interface HeldWrite {
  readonly batch: readonly AuditEvent[];
  readonly signal: AbortSignal | undefined;
  resolve(): void;
  reject(error: Error): void;
}

export interface FakeSink extends EventSink {
  mode: FakeSinkMode;
  /** Fails this many writes first (then `mode` applies again). */
  failures: number;
  /** For "ack": how long a write takes. */
  delayMs: number;
  /** The error failing writes reject with. */
  error: Error;
  /** Every batch handed to write, in order, acknowledged or not. */
  readonly attempts: (readonly AuditEvent[])[];
  /** With `encoded: true`: every batch handed to writeEncoded, as given. */
  readonly encodedAttempts: (readonly EncodedEvent[])[];
  /** Batches the sink took: acknowledged, or taken by "take-and-fail". */
  readonly received: (readonly AuditEvent[])[];
  /** Writes waiting in "hold" mode, oldest first. */
  readonly held: HeldWrite[];
  /** How often close() was called. */
  closed: number;
  /** Ids of the received events, in order (duplicates kept). */
  receivedIds(): string[];
  /** Acknowledges every held write (oldest first) and returns how many. */
  ackHeld(): number;
  /** Fails every held write and returns how many. */
  failHeld(error?: Error): number;
  /** Resolves once `count` events were received (as `until`: no deadline of its own). */
  waitForReceived(count: number): Promise<void>;
}

/**
 * Creates a fake sink that acknowledges every write at once until told otherwise. With `encoded: true`
 * it also has `writeEncoded` (which the pipeline then calls instead of `write`): it records the batch
 * as given in `encodedAttempts`, and decodes the bytes itself for `attempts` and `received`, leaving
 * each EncodedEvent's own `event` untouched.
 */
export function createFakeSink(
  options: { name?: string; maxEventBytes?: number; encoded?: boolean } = {},
): FakeSink {
  const take = async (copy: AuditEvent[], writeOptions: SinkWriteOptions | undefined): Promise<void> => {
    sink.attempts.push(copy);
    if (sink.failures > 0) {
      sink.failures--;
      throw sink.error;
    }
    switch (sink.mode) {
      case "fail":
        throw sink.error;
      case "take-and-fail":
        sink.received.push(copy);
        throw sink.error;
      case "hold":
        await new Promise<void>((resolve, reject) => {
          sink.held.push({
            batch: copy,
            signal: writeOptions?.signal,
            resolve: () => {
              sink.received.push(copy);
              resolve();
            },
            reject,
          });
        });
        return;
      case "ack":
        if (sink.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, sink.delayMs));
        sink.received.push(copy);
    }
  };
  const sink: FakeSink = {
    name: options.name ?? "fake",
    ...(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes }),
    mode: "ack",
    failures: 0,
    delayMs: 0,
    error: new Error("sink unavailable"),
    attempts: [],
    encodedAttempts: [],
    received: [],
    held: [],
    closed: 0,
    write: (batch, writeOptions) => take([...batch], writeOptions),
    async close() {
      sink.closed++;
    },
    receivedIds: () => sink.received.flat().map((event) => event.eventId),
    ackHeld() {
      const held = sink.held.splice(0);
      for (const write of held) write.resolve();
      return held.length;
    },
    failHeld(error = sink.error) {
      const held = sink.held.splice(0);
      for (const write of held) write.reject(error);
      return held.length;
    },
    waitForReceived(count) {
      return until(() => sink.received.flat().length >= count, {
        message: () => `fake sink received ${sink.received.flat().length} of ${count} events`,
      });
    },
  };
  if (options.encoded === true) {
    sink.writeEncoded = (batch, writeOptions) => {
      sink.encodedAttempts.push([...batch]);
      return take(
        batch.map((encoded) => decodeEvent(encoded.bytes)),
        writeOptions,
      );
    };
  }
  return sink;
}

/**
 * Resolves once `condition()` holds, checking every `everyMs` (2 ms unless given). It sets no deadline of its own:
 * on a loaded machine any fixed one can pass before a correct condition holds. A condition that never
 * holds fails the test at the test's timeout; `message()` then says what was awaited.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: { message?: () => string; everyMs?: number } = {},
): Promise<void> {
  let waiting = true;
  try {
    onTestFailed(() => {
      if (waiting) console.error(`until: still waiting: ${options.message?.() ?? condition.toString()}`);
    });
  } catch {
    // Called outside a test (in a hook): the hook's timeout alone says that it failed.
  }
  try {
    while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 2));
  } finally {
    waiting = false;
  }
}
