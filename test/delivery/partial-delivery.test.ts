/**
 * A sink that took part of a batch and failed on the rest (a NATS stream full with discard-new after
 * 10 of 25 messages) rejects with an AuditPartialDeliveryError naming the events it took. Those count
 * as delivered, once, and leave memory or the spool; only the rest is retried, or dropped by close().
 * Before, the whole batch was retried, and what close() gave up on was counted dropped although the
 * sink held part of it: the trail and the counters disagreed.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditPartialDeliveryError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("partial-delivery");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/**
 * A fake sink whose next write takes the first `taken` events of its batch and rejects, naming them;
 * later writes do what the fake sink's `mode` says.
 */
function partialSink(taken: number): FakeSink {
  const sink = createFakeSink();
  const write = sink.write;
  let partialDone = false;
  sink.write = (batch: readonly AuditEvent[], options) => {
    if (partialDone) return write(batch, options);
    partialDone = true;
    const took = batch.slice(0, taken);
    sink.attempts.push([...batch]);
    sink.received.push(took);
    const error = new AuditPartialDeliveryError("nats", `publish failed after ${taken} of ${batch.length}`, {
      deliveredEventIds: took.map((event) => event.eventId),
    });
    return Promise.reject(error);
  };
  return sink;
}

const attemptIds = (sink: FakeSink) => sink.attempts.map((batch) => batch.map((event) => event.eventId));

describe("a batch the sink took in part", () => {
  it("retries only the events the sink did not take, and counts each delivered once", async () => {
    const sink = partialSink(2);
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      maxBatchEvents: 5,
      sleep: async () => {},
    });
    emitters.push(emitter);
    for (let n = 1; n <= 5; n++) emitter.emit(numberedEvent(n));

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(attemptIds(sink)).toStrictEqual([ids(1, 5), ids(3, 5)]);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 5));
    expect(emitter.stats()).toMatchObject({ accepted: 5, delivered: 5, retried: 1, dropped: {} });
  });

  it("counts the taken events delivered and only the rest dropped when close() gives up on it", async () => {
    const sink = partialSink(2);
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      maxBatchEvents: 5,
      sleep: async () => {},
    });
    for (let n = 1; n <= 5; n++) emitter.emit(numberedEvent(n));
    await until(() => sink.held.length === 1);

    expect(await emitter.close({ timeoutMs: 50 })).toMatchObject({ pending: 0, dropped: 3 });
    expect(sink.receivedIds()).toStrictEqual(ids(1, 2));
    expect(emitter.stats()).toMatchObject({ delivered: 2, dropped: { close_timeout: 3 } });
  });

  it("settles a flush without a retry when the sink names every event of the batch", async () => {
    const sink = partialSink(3);
    sink.mode = "fail";
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxBatchEvents: 3 });
    emitters.push(emitter);
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(attemptIds(sink)).toStrictEqual([ids(1, 3)]);
    expect(emitter.stats()).toMatchObject({ delivered: 3, retried: 0, dropped: {} });
  });

  it("deletes the taken rows of a batch replayed from the spool, and keeps the rest there", async () => {
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 4; n++) first.emit(numberedEvent(n));
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 4, pending: 4 });

    const sink = partialSink(2);
    sink.mode = "hold";
    const second = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
    await until(() => sink.held.length === 1);
    expect(second.stats()).toMatchObject({ delivered: 2, replayed: 2, spoolEvents: 2 });
    expect(await second.close({ timeoutMs: 20 })).toMatchObject({ pending: 2 });

    const after = createFakeSink();
    const third = createDeliveryEmitter({ sink: after, flushIntervalMs: 0, spool: { path: spoolPath } });
    emitters.push(third);
    expect(await third.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(after.receivedIds()).toStrictEqual(ids(3, 4));
  });
});
