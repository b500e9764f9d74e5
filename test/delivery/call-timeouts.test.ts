// flush takes a `timeoutMs` of ms ≥ 0; anything else rejects with an AuditInputError naming the call
// (-1, NaN and "x" were ignored or taken as "no wait"). close never refuses to close, which would lose
// what is queued: a negative timeout waits for nothing, anything else not a number counts as none.
import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditInputError } from "../../src/errors/index.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { numberedEvent } from "./helpers.js";

const emitters: DeliveryEmitter[] = [];
afterEach(async () => {
  for (const emitter of emitters.splice(0)) await emitter.close();
});

describe("flush and close timeouts", () => {
  const bad: [unknown, string][] = [
    [-1, "-1"],
    [Number.NaN, "NaN"],
    ["x", '"x"'],
  ];
  for (const call of ["flush"] as const) {
    for (const [timeoutMs, shown] of bad) {
      it(`${call} rejects timeoutMs ${shown}`, async () => {
        const emitter = createDeliveryEmitter({ sink: createFakeSink() });
        emitters.push(emitter);
        const attempt = emitter[call]({ timeoutMs: timeoutMs as number });
        await expect(attempt).rejects.toThrow(AuditInputError);
        await expect(attempt).rejects.toThrow(
          `fake: ${call}'s \`timeoutMs\` must be a number of ms ≥ 0, got ${shown}`,
        );
      });
    }
  }

  it("flush rejects options that are not an object, such as a signal name", async () => {
    const emitter = createDeliveryEmitter({ sink: createFakeSink() });
    emitters.push(emitter);
    const flush = emitter.flush as (argument: unknown) => ReturnType<DeliveryEmitter["flush"]>;
    const attempt = flush("SIGTERM");
    await expect(attempt).rejects.toThrow(AuditInputError);
    await expect(attempt).rejects.toThrow(`fake: flush's options must be an object, got "SIGTERM"`);
  });

  it("close with a bad timeout or a signal name still closes, and delivers what it can", async () => {
    for (const argument of [{ timeoutMs: Number.NaN }, { timeoutMs: "x" }, "SIGTERM"]) {
      const sink = createFakeSink();
      const emitter = createDeliveryEmitter({ sink });
      emitters.push(emitter);
      expect(emitter.emit(numberedEvent(1))).toBe("accepted");
      const close = emitter.close as (argument: unknown) => ReturnType<DeliveryEmitter["close"]>;
      expect((await close(argument)).ok).toBe(true);
      expect(sink.receivedIds()).toStrictEqual([numberedEvent(1).eventId]);
      expect(emitter.emit(numberedEvent(2))).toBe("dropped");
    }
  });

  it("close with a negative timeout waits for nothing: what is queued is dropped and counted", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({ sink });
    emitters.push(emitter);
    expect(emitter.emit(numberedEvent(1))).toBe("accepted");
    const report = await emitter.close({ timeoutMs: -1 });
    expect(report.ok).toBe(false);
    expect(emitter.stats().dropped).toMatchObject({ close_timeout: 1 });
  });
});
