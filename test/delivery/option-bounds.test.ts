// Review R123: a write timeout of 0 was taken, then every sink write "did not settle within 0 ms"
// and nothing was ever delivered; a spool commit interval of 0 made the group commit a 1 ms loop. Both
// are refused at construction now. And the delivery options given through `createBrokerEmitter` are
// named as its caller wrote them ("broker emitter: delivery.maxQueueEvents"), not as the pipeline
// calls them. The broker is the fake one: the options are refused before anything is published.
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { DeliveryEmitterOptions } from "../../src/delivery/options.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { fakeBroker } from "../brokers/fake-broker.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { tempDir } from "./helpers.js";

const TIMER = "must be a number of ms from 1 to 2147483647 (what a timer holds), got 0";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

function spoolPath(): string {
  const { dir, remove } = tempDir("option-bounds");
  cleanup = remove;
  return path.join(dir, "spool.db");
}

/** The AuditConfigError `create` throws. */
function refusal(create: () => unknown): AuditConfigError {
  try {
    create();
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return error as AuditConfigError;
  }
  throw new Error("the options were taken");
}

describe("delivery emitter: timers that 0 would break", () => {
  it("refuses writeTimeoutMs 0, which would abort every write at once", () => {
    const create = () => createDeliveryEmitter({ sink: createFakeSink(), writeTimeoutMs: 0 });
    expect(refusal(create).message).toBe(`delivery emitter: writeTimeoutMs ${TIMER}`);
  });

  it("refuses spool.commitIntervalMs 0, which would commit in a loop", () => {
    const create = () =>
      createDeliveryEmitter({ sink: createFakeSink(), spool: { path: spoolPath(), commitIntervalMs: 0 } });
    expect(refusal(create).message).toBe(`delivery emitter: spool.commitIntervalMs ${TIMER}`);
  });
});

describe("broker emitter: delivery options named as its caller wrote them", () => {
  const broker = fakeBroker();
  const cases: [string, Omit<DeliveryEmitterOptions, "sink">, string][] = [
    ["maxQueueEvents 0", { maxQueueEvents: 0 }, "delivery.maxQueueEvents must be a positive integer, got 0"],
    ["writeTimeoutMs 0", { writeTimeoutMs: 0 }, `delivery.writeTimeoutMs ${TIMER}`],
    [
      "retry.maxDelayMs below retry.initialDelayMs",
      { retry: { initialDelayMs: 50, maxDelayMs: 10 } },
      "delivery.retry.maxDelayMs must not be below delivery.retry.initialDelayMs",
    ],
    [
      "overflow spool without a spool",
      { overflow: "spool" },
      'delivery.overflow is "spool" but no `delivery.spool` is configured',
    ],
    [
      "the renamed block",
      { block: { timeoutMs: 5 } } as Omit<DeliveryEmitterOptions, "sink">,
      '`delivery.block` is now `delivery.park` (the "park" overflow policy\'s limits)',
    ],
  ];
  for (const [what, delivery, message] of cases) {
    it(what, () => {
      const error = refusal(() => createBrokerEmitter({ broker, topic: "t", delivery }));
      expect(error.message.startsWith(`broker emitter: ${message}`), error.message).toBe(true);
    });
  }

  it("names a nested spool option with its whole path", () => {
    const delivery = { spool: { path: spoolPath(), commitIntervalMs: 0 } };
    const error = refusal(() => createBrokerEmitter({ broker, topic: "t", delivery }));
    expect(error.message).toBe(`broker emitter: delivery.spool.commitIntervalMs ${TIMER}`);
  });

  it("while createDeliveryEmitter, called directly, keeps its own names", () => {
    const sink = createFakeSink();
    expect(refusal(() => createDeliveryEmitter({ sink, maxQueueEvents: 0 })).message).toBe(
      "delivery emitter: maxQueueEvents must be a positive integer, got 0",
    );
    expect(
      refusal(() => createBrokerEmitter({ broker, topic: "t", delivery: { maxQueueEvents: 0 } })).message,
    ).toBe("broker emitter: delivery.maxQueueEvents must be a positive integer, got 0");
  });

  it("names the options of a clamped batch as written too (review R124)", async () => {
    const errors: Error[] = [];
    const emitter = createBrokerEmitter({
      broker,
      topic: "t",
      delivery: { maxQueueEvents: 2, maxBatchEvents: 5, onError: (error) => errors.push(error) },
    });
    await emitter.close();
    expect(errors).toStrictEqual([
      new AuditConfigError(
        "broker emitter: delivery.maxBatchEvents 5 exceeds delivery.maxQueueEvents; using 2",
      ),
    ]);
  });
});
