/**
 * Drops reach onError at most once per reason per `warnIntervalMs`, the next report carrying the count
 * of those held back. close() made no next report: the drops held back in the last interval, such as
 * all but the first event close() itself drops, never reached onError, which then told of fewer drops
 * than stats() counted. close() reports them now.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { errorCollector, eventSize, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;

beforeEach(() => {
  const temp = tempDir("close-warnings");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(() => {
  removeDir();
});

describe("close() and the drops held back from onError", () => {
  it("reports every event close() drops, with the count", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxBatchEvents: 2, onError });
    for (let n = 1; n <= 5; n++) emitter.emit(numberedEvent(n));

    const report = await emitter.close({ timeoutMs: 20 });

    expect(report).toMatchObject({ ok: false, dropped: 5, pending: 0 });
    expect(emitter.stats().dropped).toStrictEqual({ close_timeout: 5 });
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: dropped 1 event (close_timeout): close() timed out before the event was delivered",
      "fake: dropped 4 events (close_timeout): close() timed out before the event was delivered",
    ]);
  });

  it("reports the drops of the last interval before close, by reason", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      maxQueueEvents: 1,
      // Room for one event: the spool policy's first event.
      spool: { path: spoolPath, maxBytes: Math.max(eventSize("authn"), eventSize("authz")) + 10 },
      overflow: { default: "drop-newest", "authz.decision": "spool" },
      onError,
    });
    emitter.emit(numberedEvent(1, "authn")); // taken by the held write
    for (let n = 2; n <= 4; n++) emitter.emit(numberedEvent(n, "authn")); // queue_full
    for (let n = 5; n <= 7; n++) emitter.emit(numberedEvent(n, "authz")); // spooled, then spool_full

    // The event of the held write finds the spool full too.
    await emitter.close({ timeoutMs: 20 });

    expect(emitter.stats().dropped).toStrictEqual({ queue_full: 3, spool_full: 3 });
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: dropped 1 event (queue_full): the queue is full",
      "fake: dropped 1 event (spool_full): the spool is full",
      "fake: dropped 2 events (queue_full): the queue is full",
      "fake: dropped 2 events (spool_full): the spool is full",
    ]);
  });
});
