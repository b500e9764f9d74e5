/**
 * A spool left by a process whose sink took larger events than this one's (a smaller `maxEventBytes`
 * after a restart): its too large rows used to be replayed for ever, blocking every row behind them.
 * They are checked as at emit, dropped as "too_large" and counted, and the rest is delivered.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createFakeSink, type FakeSink } from "../helpers/fake-sink.js";
import { eventSize, id, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("replay-too-large");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** A fake sink that, like a store with a row limit, refuses a whole batch holding an event over its maxEventBytes. */
function limitedSink(maxEventBytes: number): FakeSink {
  const sink = createFakeSink({ maxEventBytes });
  const write = sink.write;
  sink.write = (batch, options) =>
    batch.some((event) => encodeEvent(event).length > maxEventBytes)
      ? Promise.reject(new Error(`an event is over ${maxEventBytes} bytes`))
      : write(batch, options);
  return sink;
}

describe("spool replay to a sink whose maxEventBytes shrank", () => {
  it("drops and counts the rows over the limit as too_large and delivers the others in order", async () => {
    const limit = eventSize() + 100;
    const large = { ...numberedEvent(2), operation: "o".repeat(limit) };
    const before = createFakeSink();
    before.mode = "hold";
    const first = createDeliveryEmitter({ sink: before, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (const event of [numberedEvent(1), large, numberedEvent(3)]) first.emit(event);
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 3, pending: 3 });

    const sink = limitedSink(limit);
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
    emitters.push(emitter);
    const report = await emitter.flush({ timeoutMs: 5000 });

    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual([id(1), id(3)]);
    expect(emitter.stats()).toMatchObject({
      dropped: { too_large: 1 },
      droppedByReasonAndKind: { too_large: { "authz.decision": 1 } },
      delivered: 2,
      replayed: 2,
      retried: 0,
      spoolEvents: 0,
    });
  });
});
