/**
 * A sink that can never take an event for a reason other than its size (a store holding another
 * event under its id) rejects the write with an AuditEventRefusedError naming it. The pipeline drops
 * that event as "refused", reports it with the sink's message, and writes the rest of the batch at
 * once, from memory or from the spool. Such refusals used to be AuditEventTooLargeErrors, so emit
 * learnt a size from them and refused every later event as large as the refused one ("too_large").
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEventRefusedError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent } from "../helpers/events.js";
import { createFakeSink, type FakeSink } from "../helpers/fake-sink.js";
import { errorCollector, id, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("sink-refused");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** A fake sink that refuses, as a store holding other events under their ids would, every batch holding one of `ids`. */
function refusingSink(ids: readonly string[]): { sink: FakeSink; refusals: AuditEventRefusedError[] } {
  const sink = createFakeSink();
  const refusals: AuditEventRefusedError[] = [];
  const write = sink.write;
  sink.write = (batch: readonly AuditEvent[], options) => {
    const taken = batch.filter((event) => ids.includes(event.eventId)).map((event) => event.eventId);
    if (taken.length === 0) return write(batch, options);
    const refusal = new AuditEventRefusedError(
      "store",
      `event ids ${taken.join(", ")} are stored with other events`,
      {
        eventIds: taken,
      },
    );
    refusals.push(refusal);
    return Promise.reject(refusal);
  };
  return { sink, refusals };
}

describe("an event the sink refuses for good, for a reason other than its size", () => {
  it("is dropped as refused, reported with the sink's message, and teaches emit no size limit", async () => {
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
          error: expect.objectContaining({ message: "fake: flush dropped 1 event (refused 1)" }),
        },
      ],
      pending: 0,
    });
    expect(errors.map((error) => [error.name, error.message])).toStrictEqual([
      [
        "AuditEmitError",
        `fake: dropped 1 event (refused): the sink refused it: store: event ids ${id(2)} are stored with other events`,
      ],
    ]);
    expect(errors[0]?.cause).toBe(refusals[0]);

    // A size refusal would make emit refuse every event at least as large as the refused one.
    const larger = sampleEvent({ kind: "authz", eventId: id(4), operation: `/acme.Big/${"x".repeat(200)}` });
    expect(encodeEvent(larger).length).toBeGreaterThan(encodeEvent(numberedEvent(2)).length);
    expect(emitter.emit(larger)).toBe("accepted");
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(3), id(4)]);
    expect(emitter.stats()).toMatchObject({
      accepted: 4,
      delivered: 3,
      dropped: { refused: 1 },
      droppedAfterAccept: 1,
      droppedByReasonAndKind: { refused: { "authz.decision": 1 } },
    });
  });

  it("replayed from the spool: its row is dropped as refused and deleted, the others delivered", async () => {
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
          error: expect.objectContaining({ message: "fake: flush dropped 2 events (refused 2)" }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(4)]);
    expect(emitter.stats()).toMatchObject({
      delivered: 2,
      replayed: 2,
      dropped: { refused: 2 },
      spoolEvents: 0,
    });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: dropped 2 events (refused): the sink refused them: store: event ids ${id(2)}, ${id(3)} are stored with other events`,
    ]);
    expect(errors[0]?.cause).toBe(refusals[0]);
  });
});
