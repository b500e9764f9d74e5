import { afterEach, describe, expect, it } from "vitest";
import { retryDelay } from "../../src/delivery/backoff.js";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, numberedEvents } from "./helpers.js";

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
});

/** An emitter whose retry waits are recorded and take no time, with jitter fixed at `random`. */
function create(
  sink: FakeSink,
  options: Partial<DeliveryEmitterOptions> = {},
  random = 0.5,
): { emitter: DeliveryEmitter; delays: number[] } {
  const delays: number[] = [];
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => random,
    ...options,
  });
  emitters.push(emitter);
  return { emitter, delays };
}

describe("retry", () => {
  it("retries a failed batch with exponential backoff and full jitter until the sink takes it", async () => {
    const sink = createFakeSink();
    sink.failures = 3;
    const { emitter, delays } = create(sink, { retry: { initialDelayMs: 100, multiplier: 2 } });

    for (const event of numberedEvents(3)) emitter.emit(event);
    await sink.waitForReceived(3);
    await until(() => emitter.stats().delivered === 3);

    expect(delays).toStrictEqual([50, 100, 200]);
    expect(sink.attempts.map((batch) => batch.map((e) => e.eventId))).toStrictEqual(Array(4).fill(ids(1, 3)));
    expect(emitter.stats()).toMatchObject({ accepted: 3, delivered: 3, retried: 3, dropped: {}, failed: 0 });
  });

  it("caps the delay at maxDelayMs and retries on without a spool", async () => {
    const sink = createFakeSink();
    sink.failures = 8;
    const { emitter, delays } = create(sink, { retry: { initialDelayMs: 100, maxDelayMs: 1000 } }, 0.999);

    emitter.emit(numberedEvent(1));
    await until(() => emitter.stats().delivered === 1);

    expect(delays).toStrictEqual([100, 200, 400, 799, 999, 999, 999, 999]);
  });

  it("uses decorrelated jitter when asked", async () => {
    const sink = createFakeSink();
    sink.failures = 3;
    const { emitter, delays } = create(sink, {
      retry: { initialDelayMs: 100, multiplier: 2, jitter: "decorrelated" },
    });

    emitter.emit(numberedEvent(1));
    await until(() => emitter.stats().delivered === 1);

    expect(delays).toStrictEqual([150, 200, 250]);
  });

  it("aborts a write that hangs past writeTimeoutMs and retries it", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { emitter, delays } = create(sink, { writeTimeoutMs: 20 });

    emitter.emit(numberedEvent(1));
    await until(() => sink.attempts.length === 2);
    sink.mode = "ack";
    await until(() => emitter.stats().delivered === 1);

    expect(sink.held[0]?.signal?.aborted).toBe(true);
    expect(delays.length).toBeGreaterThanOrEqual(1);
    expect(emitter.stats().retried).toBeGreaterThanOrEqual(1);
  });

  it("keeps later batches waiting behind a failing one, so the order holds", async () => {
    const sink = createFakeSink();
    sink.failures = 2;
    const { emitter } = create(sink, { maxBatchEvents: 2 });

    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => emitter.stats().delivered === 5);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
  });

  it("reports sink failures through onError, rate-limited with the count", async () => {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    sink.failures = 3;
    const { emitter } = create(sink, { onError, warnIntervalMs: 60_000 });

    emitter.emit(numberedEvent(1));
    await until(() => emitter.stats().delivered === 1);

    expect(errors).toStrictEqual([
      new AuditEmitError("fake", "sink write failed; retrying", { cause: sink.error }),
    ]);
  });

  it("treats a sink whose write throws synchronously like a failed write", async () => {
    const sink = createFakeSink();
    const write = sink.write;
    let calls = 0;
    sink.write = (batch, options) => {
      calls++;
      if (calls === 1) throw new Error("sync throw");
      return write(batch, options);
    };
    const { emitter } = create(sink);

    emitter.emit(numberedEvent(1));
    await until(() => emitter.stats().delivered === 1);

    expect(emitter.stats().retried).toBe(1);
  });
});

describe("retryDelay", () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 10_000, multiplier: 3, jitter: "full" as const };

  it("grows the full-jitter bound by the multiplier and stays within [0, bound]", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelay(policy, attempt, 0, () => 1))).toStrictEqual([
      100, 300, 900, 2700,
    ]);
    expect(retryDelay(policy, 5, 0, () => 0)).toBe(0);
    expect(retryDelay(policy, 50, 0, () => 1)).toBe(10_000);
  });

  it("keeps decorrelated delays between the initial delay and previous × multiplier, capped", () => {
    const decorrelated = { ...policy, jitter: "decorrelated" as const };
    expect(retryDelay(decorrelated, 1, 100, () => 0)).toBe(100);
    expect(retryDelay(decorrelated, 2, 500, () => 1)).toBe(1500);
    expect(retryDelay(decorrelated, 9, 9000, () => 1)).toBe(10_000);
  });
});
