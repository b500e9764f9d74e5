/**
 * A sink that can never take some events of a batch rejects the write naming them: with an
 * AuditEventTooLargeError when they are over its size limit (a NATS stream's max_msg_size), with an
 * AuditEventRefusedError for any other reason (a store holding other events under their ids). The
 * pipeline drops those events as "too_large" or "refused", reports them once with the sink's own
 * message and its error as the cause, and writes the rest of the batch at once, from memory or from
 * the spool. Only a size refusal teaches emit a limit: refusals for other reasons used to be size
 * refusals, and emit then refused every later event as large as the refused one.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEventRefusedError, AuditEventTooLargeError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent } from "../helpers/events.js";
import { createFakeSink, type FakeSink } from "../helpers/fake-sink.js";
import { errorCollector, id, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("sink-refusals");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

type Refusal = AuditEventTooLargeError | AuditEventRefusedError;

/** Each way a sink refuses events for good: the drop reason, and the error with the sink's words. */
const refusals = [
  {
    reason: "too_large",
    refuse: (ids: string[]): Refusal =>
      new AuditEventTooLargeError(
        "nats",
        `stream "SMALL" refused the message for event${ids.length === 1 ? "" : "s"} ${ids.join(", ")} as over its max_msg_size: it never stores such a message`,
        { eventIds: ids },
      ),
  },
  {
    reason: "refused",
    refuse: (ids: string[]): Refusal =>
      new AuditEventRefusedError("store", `event ids ${ids.join(", ")} are stored with other events`, {
        eventIds: ids,
      }),
  },
] as const;

/** A fake sink that refuses every batch holding one of `ids`, naming those it holds. */
function refusingSink(
  ids: readonly string[],
  refuse: (ids: string[]) => Refusal,
): { sink: FakeSink; refused: Refusal[] } {
  const sink = createFakeSink();
  const refused: Refusal[] = [];
  const write = sink.write;
  sink.write = (batch: readonly AuditEvent[], options) => {
    const named = batch.filter((event) => ids.includes(event.eventId)).map((event) => event.eventId);
    if (named.length === 0) return write(batch, options);
    const refusal = refuse(named);
    refused.push(refusal);
    return Promise.reject(refusal);
  };
  return { sink, refused };
}

describe.each(refusals)("events the sink refuses for good ($reason)", ({ reason, refuse }) => {
  it("are dropped with that reason and reported once with the sink's message; the rest are written", async () => {
    const { sink, refused } = refusingSink([id(2)], refuse);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxBatchEvents: 3, onError });
    emitters.push(emitter);
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({ message: `fake: flush dropped 1 event (${reason} 1)` }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(3)]);
    expect(emitter.stats()).toMatchObject({
      accepted: 3,
      delivered: 2,
      dropped: { [reason]: 1 },
      droppedAfterAccept: 1,
      droppedByReasonAndKind: { [reason]: { "authz.decision": 1 } },
    });
    expect(errors.map((error) => [error.name, error.message])).toStrictEqual([
      ["AuditEmitError", `fake: dropped 1 event (${reason}): the sink refused it: ${refused[0]?.message}`],
    ]);
    expect(errors[0]?.cause).toBe(refused[0]);
  });

  it("replayed from the spool: their rows are dropped and deleted, reported once with their count", async () => {
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 4; n++) first.emit(numberedEvent(n));
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 4, pending: 4 });

    const { sink, refused } = refusingSink([id(2), id(3)], refuse);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath }, onError });
    emitters.push(emitter);

    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({
      ok: false,
      results: [
        {
          status: "error",
          error: expect.objectContaining({ message: `fake: flush dropped 2 events (${reason} 2)` }),
        },
      ],
      pending: 0,
    });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(4)]);
    expect(emitter.stats()).toMatchObject({
      delivered: 2,
      replayed: 2,
      dropped: { [reason]: 2 },
      spoolEvents: 0,
    });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: dropped 2 events (${reason}): the sink refused them: ${refused[0]?.message}`,
    ]);
    expect(errors[0]?.cause).toBe(refused[0]);
  });
});

describe("what emit learns from a refusal", () => {
  /** Emits events 1-3, the sink refusing event 2, then a distinct event larger than event 2. */
  async function emitLargerAfterRefusal(refuse: (ids: string[]) => Refusal) {
    const { sink } = refusingSink([id(2)], refuse);
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxBatchEvents: 3, onError });
    emitters.push(emitter);
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));
    await emitter.flush({ timeoutMs: 5000 });
    const larger = sampleEvent({ kind: "authz", eventId: id(4), operation: `/acme.Big/${"x".repeat(200)}` });
    expect(encodeEvent(larger).length).toBeGreaterThan(encodeEvent(numberedEvent(2)).length);
    return { outcome: emitter.emit(larger), emitter, sink, errors };
  }

  it("a refusal for another reason teaches no size limit: a later, larger event is delivered", async () => {
    const { outcome, emitter, sink } = await emitLargerAfterRefusal(refusals[1].refuse);
    expect(outcome).toBe("accepted");
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(3), id(4)]);
    expect(emitter.stats()).toMatchObject({ accepted: 4, delivered: 3, dropped: { refused: 1 } });
  });

  it("a size refusal does: a later, larger event is dropped at emit as too_large", async () => {
    const { outcome, emitter, errors } = await emitLargerAfterRefusal(refusals[0].refuse);
    expect(outcome).toBe("dropped");
    expect(emitter.stats()).toMatchObject({ accepted: 3, delivered: 2, dropped: { too_large: 2 } });
    expect(errors.at(-1)?.message).toBe(
      "fake: dropped 1 event (too_large): larger than maxEventBytes or than the sink takes",
    );
  });

  it("a drop at emit is reported with the limits emit checks", () => {
    const { sink } = refusingSink([], refusals[0].refuse);
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
