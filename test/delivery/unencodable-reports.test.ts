/**
 * Events that cannot be encoded (a caller's bug, so it repeats with every event) are refused at emit.
 * They used to reach onError one report per event, whatever warnIntervalMs said; they are reported
 * once per interval now, with the count, and each one is still counted as failed.
 */
import { describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { errorCollector } from "./helpers.js";

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
