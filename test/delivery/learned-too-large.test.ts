/**
 * A sink that learns its size limit only when it writes (Kafka's message.max.bytes, a NATS stream's
 * max_msg_size) refuses an event with an AuditEventTooLargeError after emit accepted it. Emit used to
 * keep accepting events as large, so a fail-closed call was answered OK for every one of them, each
 * dropped after ("too_large", droppedAfterAccept). Now the pipeline learns: after the sink refused an
 * event of N encoded bytes, emit refuses (as "too_large") every later event of N bytes or more; the
 * bound only goes down. A custom sink stands in for the broker: the limit is its own.
 */
import { afterEach, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import type { EventSink } from "../../src/emitters/index.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent } from "../helpers/events.js";
import { errorCollector } from "./helpers.js";

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 1000 })));
});

/** A sink with no limit it tells the pipeline: it refuses events over `limit` encoded bytes on write. */
function sinkLimitedOnWrite(limit: number): EventSink & { stored: string[] } {
  const stored: string[] = [];
  return {
    name: "limited",
    stored,
    write(batch: readonly AuditEvent[]) {
      const over = batch.filter((event) => encodeEvent(event).length > limit).map((event) => event.eventId);
      if (over.length > 0)
        return Promise.reject(
          new AuditEventTooLargeError("limited", `refused ${over.join(", ")} as over ${limit} bytes`, {
            eventIds: over,
          }),
        );
      stored.push(...batch.map((event) => event.eventId));
      return Promise.resolve();
    },
  };
}

/** A sample event whose operation is padded to `pad` characters: larger pads, larger events. */
function paddedEvent(eventId: string, pad: number): AuditEvent {
  return sampleEvent({ kind: "authz", eventId, operation: `/acme.Big/${"x".repeat(pad)}` });
}

const size = (event: AuditEvent) => encodeEvent(event).length;

it("refuses at emit every event as large as one the sink refused on write, and lowers that bound", async () => {
  const small = paddedEvent("small-1", 10);
  const limit = size(small) + 50;
  const sink = sinkLimitedOnWrite(limit);
  const { onError } = errorCollector();
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, onError });
  emitters.push(emitter);
  const large = paddedEvent("large-1", 400);
  const medium = paddedEvent("medium-1", 200);
  expect(size(medium)).toBeGreaterThan(limit);
  expect(size(medium)).toBeLessThan(size(large));

  // The first too-large event is accepted: the sink tells only when it writes it.
  expect(emitter.emit(large)).toBe("accepted");
  await emitter.flush({ timeoutMs: 5000 });
  expect(emitter.emit(paddedEvent("large-2", 400))).toBe("dropped");
  expect(emitter.emit(paddedEvent("larger-1", 600))).toBe("dropped");
  // A smaller event over the sink's limit is still accepted once, and lowers the bound.
  expect(emitter.emit(medium)).toBe("accepted");
  await emitter.flush({ timeoutMs: 5000 });
  expect(emitter.emit(paddedEvent("medium-2", 200))).toBe("dropped");
  expect(emitter.emit(paddedEvent("between-1", 300))).toBe("dropped");
  expect(emitter.emit(small)).toBe("accepted");
  await emitter.flush({ timeoutMs: 5000 });

  expect(sink.stored).toStrictEqual(["small-1"]);
  expect(emitter.stats()).toMatchObject({
    accepted: 3,
    delivered: 1,
    failed: 0,
    dropped: { too_large: 6 },
    droppedAfterAccept: 2,
  });
});
