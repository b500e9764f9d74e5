/**
 * Events that cannot be encoded (a caller's bug, so it repeats with every event) are refused at emit.
 * They used to reach onError one report per event, whatever warnIntervalMs said; they are reported
 * once per interval now, with the count, and each one is still counted as failed.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, tempDir } from "./helpers.js";

describe("events that cannot be encoded", () => {
  it("are reported once per warnIntervalMs with their count, each counted as failed", async () => {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    const emitter = createDeliveryEmitter({ sink, warnIntervalMs: 3_600_000, onError });

    const outcomes = new Set<string>();
    // No schemaVersion nor detail: encodeEvent refuses it.
    for (let i = 0; i < 3000; i++) outcomes.add(emitter.emit({ eventId: `bad-${i}` } as AuditEvent));

    expect(outcomes).toStrictEqual(new Set(["failed"]));
    expect(emitter.stats()).toMatchObject({ failed: 3000, emitted: 0, dropped: {} });
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: refused 1 event at emit: cannot be encoded",
    ]);
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    expect(errors[0]?.cause).toBeInstanceOf(Error);

    // close() passes on what the interval held back, as no later report would.
    await emitter.close();
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: refused 1 event at emit: cannot be encoded",
      "fake: refused 2999 events at emit: cannot be encoded",
    ]);
    expect(sink.receivedIds()).toStrictEqual([]);
  });
});

describe("events the pipeline could not read back", () => {
  // A hand-built event with a sequence above 2^53 - 1 used to be accepted: every write of its batch then
  // failed to decode it, was retried for good as a sink failure, and the queue behind it never moved
  // (with a spool, it was dropped as "spool_corrupt"). One without an eventId was dropped from a spool.
  it.each([false, true])(
    "are refused at emit, and the events around them reach a real store (spool write-ahead %s)",
    async (writeAhead) => {
      const dir = tempDir("unreadable");
      const store = openAuditStore({ path: path.join(dir.dir, "audit.db") });
      try {
        const { errors, onError } = errorCollector();
        const emitter = createDeliveryEmitter({
          sink: store.sink(),
          name: "audit store",
          onError,
          ...(writeAhead ? { spool: { path: path.join(dir.dir, "spool.db"), writeAhead } } : {}),
        });
        const beyond = { ...numberedEvent(2), chain: { chainId: "c", seq: 2 ** 60, prevHash: "", hash: "" } };
        const noId = { ...numberedEvent(3), eventId: "" };
        const outcomes = [numberedEvent(1), beyond, noId, numberedEvent(4)].map((e) => emitter.emit(e));

        expect(outcomes).toStrictEqual(["accepted", "failed", "failed", "accepted"]);
        expect(await emitter.close()).toMatchObject({ ok: true, delivered: 2 });
        expect(emitter.stats()).toMatchObject({ emitted: 2, delivered: 2, failed: 2, dropped: {} });
        expect(store.tail(0, 10).events.map((e) => e.eventId)).toStrictEqual([ids(1, 1)[0], ids(4, 4)[0]]);
        expect(errors.map((e) => [e.message, (e.cause as Error).message])).toStrictEqual([
          [
            "audit store: refused 1 event at emit: cannot be encoded",
            "invalid uint64: 1152921504606847000 is beyond 2^53 - 1, where no reader of the event could read it",
          ],
          [
            // Held back by warnIntervalMs, passed on by close().
            "audit store: refused 1 event at emit: cannot be encoded",
            "the event has no eventId: the spool, the stores and the brokers know an event by it",
          ],
        ]);
      } finally {
        store.close();
        dir.remove();
      }
    },
  );
});
