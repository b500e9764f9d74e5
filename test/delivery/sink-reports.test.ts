import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { causeKey } from "../../src/delivery/sink-reports.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { until } from "../helpers/fake-sink.js";
import { errorCollector, numberedEvent } from "./helpers.js";

type Recovery = Parameters<NonNullable<DeliveryEmitterOptions["onSinkRecovered"]>>[0];

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
});

/** A sink whose writes fail with the errors of `script`, one per write, then succeed. */
function scriptedSink(): EventSink & { script: Error[]; writes: number } {
  const sink = {
    name: "scripted",
    script: [] as Error[],
    writes: 0,
    async write() {
      sink.writes++;
      const error = sink.script.shift();
      if (error !== undefined) throw error;
    },
  };
  return sink;
}

/** An emitter on `sink` whose retries take no time, reporting into the returned lists. */
function create(sink: EventSink, options: Partial<DeliveryEmitterOptions> = {}) {
  const { errors, onError } = errorCollector();
  const recoveries: Recovery[] = [];
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    warnIntervalMs: 60_000,
    sleep: async () => {},
    onError,
    onSinkRecovered: (recovery) => recoveries.push(recovery),
    ...options,
  });
  emitters.push(emitter);
  return { emitter, errors, recoveries };
}

/** Emits event `n` and waits until the sink took it. */
async function deliver(emitter: DeliveryEmitter, n: number): Promise<void> {
  emitter.emit(numberedEvent(n));
  await until(() => emitter.stats().delivered === n);
}

/** A broker-like error: the same cause, whatever the counts in its message. */
function refused(sent: number, code: string): AuditEmitError {
  const cause = Object.assign(new Error(code), { code });
  return new AuditEmitError("kafka", `send to "audit" failed after ${sent} of 3 messages: ${code}`, {
    cause,
  });
}

const failed = (times: string, cause: Error) =>
  new AuditEmitError("scripted", `sink write failed${times}; retrying`, { cause });

describe("sink failure reports", () => {
  it("reports a changed cause at once, with the failures held back since the report before", async () => {
    const sink = scriptedSink();
    const unreachable = refused(0, "ECONNREFUSED");
    const denied = refused(0, "TOPIC_AUTHORIZATION_FAILED");
    sink.script = [unreachable, refused(2, "ECONNREFUSED"), denied];
    const { emitter, errors, recoveries } = create(sink);

    await deliver(emitter, 1);

    expect(errors).toStrictEqual([
      failed("", unreachable),
      failed(" (2 failures since the last report)", denied),
    ]);
    expect(errors[1]?.cause).toBe(denied);
    expect(recoveries).toStrictEqual([
      { emitter: "scripted", failedWrites: 3, unreported: 0, lastError: denied },
    ]);
  });

  it("reports a sink flapping between two causes once per cause per interval, counting every failure", async () => {
    const sink = scriptedSink();
    const a = new Error("connection reset");
    const b = new Error("not leader for partition");
    sink.script = [a, b, a, b, a, b, a, b];
    const { emitter, errors, recoveries } = create(sink);

    await deliver(emitter, 1);

    expect(errors).toStrictEqual([failed("", a), failed("", b)]);
    expect(recoveries).toStrictEqual([{ emitter: "scripted", failedWrites: 8, unreported: 6, lastError: b }]);
  });

  it("tells of a recovery once, and of failures all held back since then with a success an interval later", async () => {
    vi.useFakeTimers({ toFake: ["Date", "performance"] });
    const sink = scriptedSink();
    const a = new Error("connection reset");
    sink.script = [a];
    const { emitter, errors, recoveries } = create(sink);
    await deliver(emitter, 1);
    sink.script = [a, a];
    await deliver(emitter, 2);
    await deliver(emitter, 3);

    // Within the interval of the first report: the cause is held back, and so is its recovery.
    expect(errors).toStrictEqual([failed("", a)]);
    expect(recoveries).toStrictEqual([{ emitter: "scripted", failedWrites: 1, unreported: 0, lastError: a }]);

    vi.advanceTimersByTime(60_000);
    await deliver(emitter, 4);
    expect(errors).toHaveLength(1);
    expect(recoveries.at(-1)).toStrictEqual({
      emitter: "scripted",
      failedWrites: 2,
      unreported: 2,
      lastError: a,
    });
    expect(recoveries).toHaveLength(2);
  });

  it("reports nothing while the sink never failed", async () => {
    const { emitter, errors, recoveries } = create(scriptedSink());
    await deliver(emitter, 1);
    await deliver(emitter, 2);
    expect([errors, recoveries]).toStrictEqual([[], []]);
  });

  it("ignores an onSinkRecovered that throws", async () => {
    const sink = scriptedSink();
    sink.script = [new Error("down")];
    const { emitter } = create(sink, {
      onSinkRecovered: () => {
        throw new Error("hook failed");
      },
    });
    await deliver(emitter, 1);
    await deliver(emitter, 2);
    expect(emitter.stats()).toMatchObject({ delivered: 2, retried: 1 });
  });

  it("refuses an onSinkRecovered that is not a function", () => {
    expect(() =>
      createDeliveryEmitter({ sink: scriptedSink(), onSinkRecovered: 1 as unknown as () => void }),
    ).toThrow("onSinkRecovered must be a function");
  });
});

describe("causeKey", () => {
  it("is the same for messages that differ only in their numbers, and names the inner error's code", () => {
    expect(causeKey(refused(0, "ECONNREFUSED"))).toBe(causeKey(refused(2, "ECONNREFUSED")));
    expect(causeKey(new Error("connect ECONNREFUSED 127.0.0.1:4222"))).toBe(
      causeKey(new Error("connect ECONNREFUSED 10.0.0.7:9092")),
    );
    expect(causeKey(refused(0, "ECONNREFUSED"))).not.toBe(causeKey(refused(0, "TOPIC_AUTHORIZATION_FAILED")));
    expect(causeKey(new TypeError("x"))).not.toBe(causeKey(new RangeError("x")));
    expect(causeKey(Object.assign(new Error("x"), { code: "EPIPE" }))).not.toBe(causeKey(new Error("x")));
    expect(causeKey("a string")).toBe("Error||a string");
  });
});
