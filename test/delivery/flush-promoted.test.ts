/**
 * A parked event promoted into the queue behind a newer event goes out in a batch whose first event is
 * newer than it. flush() judged a batch being written by its first event: while that batch was being
 * written, a flush() called before the newer event was accepted resolved ok at the next check (any
 * drop), though the parked event it waited for was still being written, and might never be delivered.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { numberedEvent } from "./helpers.js";

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
});

describe("flush() and a parked event promoted behind a newer one", () => {
  it("waits until that event is delivered", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      overflow: { default: "drop-oldest", "authz.decision": "park" },
      maxQueueEvents: 2,
      maxBatchEvents: 2,
      flushIntervalMs: 0,
      park: { timeoutMs: 200, maxParked: 10 },
    });
    emitters.push(emitter);
    const authn = (n: number) => numberedEvent(n, "authn");
    const authz = (n: number) => numberedEvent(n, "authz");
    const summary = (n: number) => numberedEvent(n, "recordSummary");

    emitter.emit(authn(1)); // written, held
    await until(() => sink.held.length === 1);
    emitter.emit(authn(2)); // queued: memory is full
    emitter.emit(authz(3)); // parked
    let flushed: { ok: boolean } | undefined;
    const flushing = emitter.flush({ timeoutMs: 5000 }).then((report) => {
      flushed = report;
      return report;
    });
    // Evicts authn 2 (drop-oldest), queued ahead of the parked authz 3: both kept (never evicted), so
    // in the same FIFO of the queue, where authz 3 cannot overtake it.
    emitter.emit(summary(4));
    sink.ackHeld(); // room: authz 3 is promoted behind summary 4, and both go out in one batch
    await until(() => sink.held.length === 1);
    expect(sink.held[0]?.batch.map((event) => event.eventId)).toStrictEqual([
      summary(4).eventId,
      authz(3).eventId,
    ]);
    emitter.emit(authz(5)); // parked, then dropped after 200 ms: a drop re-checks flush()
    await until(() => emitter.stats().dropped.park_timeout === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(flushed).toBeUndefined();
    sink.ackHeld();
    // Not ok: authn 2, accepted before the flush, was evicted (and authz 5 dropped meanwhile).
    expect(await flushing).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({
            message: "fake: flush dropped 2 events (queue_full 1, park_timeout 1)",
          }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toContain(authz(3).eventId);
  });
});
