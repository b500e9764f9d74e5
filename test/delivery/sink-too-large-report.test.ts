/**
 * An event the sink refuses on write as too large (an AuditEventTooLargeError) is dropped and counted
 * as "too_large". The onError report of that drop used to say only "larger than maxEventBytes or than
 * the sink takes": whether a NATS stream's max_msg_size, the server's max_payload or Kafka's limit
 * refused it was lost. It carries the sink's own message now, and the sink's error as its cause.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent } from "../helpers/events.js";
import { createFakeSink, type FakeSink } from "../helpers/fake-sink.js";
import { errorCollector, id, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("sink-too-large");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** A fake sink that refuses, as a stream over its max_msg_size would, every batch holding one of `ids`. */
function refusingSink(ids: readonly string[]): { sink: FakeSink; refusals: AuditEventTooLargeError[] } {
  const sink = createFakeSink();
  const refusals: AuditEventTooLargeError[] = [];
  const write = sink.write;
  sink.write = (batch: readonly AuditEvent[], options) => {
    const over = batch.filter((event) => ids.includes(event.eventId)).map((event) => event.eventId);
    if (over.length === 0) return write(batch, options);
    const refusal = new AuditEventTooLargeError(
      "nats",
      `stream "SMALL" refused the message for event${over.length === 1 ? "" : "s"} ${over.join(", ")} as over its max_msg_size: it never stores such a message`,
      { eventIds: over },
    );
    refusals.push(refusal);
    return Promise.reject(refusal);
  };
  return { sink, refusals };
}

describe("a drop the sink refused as too large", () => {
  it("is reported with the sink's message, which names the limit", async () => {
    const { sink, refusals } = refusingSink([id(2)]);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxBatchEvents: 3, onError });
    emitters.push(emitter);
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({ message: "fake: flush dropped 1 event (too_large 1)" }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(3)]);
    expect(emitter.stats()).toMatchObject({ delivered: 2, dropped: { too_large: 1 } });
    expect(errors.map((error) => [error.name, error.message])).toStrictEqual([
      [
        "AuditEmitError",
        `fake: dropped 1 event (too_large): the sink refused it: nats: stream "SMALL" refused the message for event ${id(2)} as over its max_msg_size: it never stores such a message`,
      ],
    ]);
    expect(errors[0]?.cause).toBe(refusals[0]);
  });

  it("reports the events of one refusal once, with their count, when they are replayed from the spool", async () => {
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 4; n++) first.emit(numberedEvent(n));
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 4, pending: 4 });

    const { sink, refusals } = refusingSink([id(2), id(3)]);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath }, onError });
    emitters.push(emitter);

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({ message: "fake: flush dropped 2 events (too_large 2)" }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(4)]);
    expect(emitter.stats()).toMatchObject({
      delivered: 2,
      replayed: 2,
      dropped: { too_large: 2 },
      spoolEvents: 0,
    });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: dropped 2 events (too_large): the sink refused them: nats: stream "SMALL" refused the message for events ${id(2)}, ${id(3)} as over its max_msg_size: it never stores such a message`,
    ]);
    expect(errors[0]?.cause).toBe(refusals[0]);
  });

  it("still reports a drop at emit with the limits it checks", () => {
    const { sink } = refusingSink([]);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, maxEventBytes: 1024, onError });
    emitters.push(emitter);

    expect(emitter.emit(sampleEvent({ kind: "authz", eventId: id(1), service: "s".repeat(1024) }))).toBe(
      "dropped",
    );
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: dropped 1 event (too_large): larger than maxEventBytes or than the sink takes",
    ]);
  });
});
