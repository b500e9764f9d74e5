// Misspelt option names, and nested option objects that are not objects, fail at construction with
// the name (a setting that never applied, such as `flushIntervalMS`, was taken silently).
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { DeliveryEmitterOptions } from "../../src/delivery/options.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { fakeBroker } from "../brokers/fake-broker.js";

const sink = { name: "s", write: async () => {} };

describe("createDeliveryEmitter refuses unknown option names", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a misspelt top-level option",
      { flushIntervalMS: 5 },
      "delivery emitter: unknown option `flushIntervalMS` (did you mean `flushIntervalMs`?)",
    ],
    [
      "a misspelt retry option",
      { retry: { maxDelay: 5 } },
      "delivery emitter: retry: unknown option `maxDelay` (did you mean `maxDelayMs`?)",
    ],
    [
      "a misspelt park option",
      { park: { timeout: 5 } },
      "delivery emitter: park: unknown option `timeout` (did you mean `timeoutMs`?)",
    ],
    [
      "a misspelt spool option",
      { spool: { path: "/nonexistent/s.db", writeahead: true } },
      "delivery emitter: spool: unknown option `writeahead` (did you mean `writeAhead`?)",
    ],
    [
      "retry that is not an object",
      { retry: 5 },
      "delivery emitter: retry must be an object of retry options, got 5",
    ],
    [
      "park that is not an object",
      { park: "x" },
      'delivery emitter: park must be an object of park options, got "x"',
    ],
    [
      "the renamed `block`",
      { block: { timeoutMs: 5 } },
      'delivery emitter: `block` is now `park` (the "park" overflow policy\'s limits)',
    ],
  ];
  for (const [what, extra, message] of cases) {
    it(what, () => {
      const create = () => createDeliveryEmitter({ sink, ...extra } as DeliveryEmitterOptions);
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(message);
    });
  }
});

describe("createBrokerEmitter refuses unknown option names, its own and its delivery's", () => {
  const broker = fakeBroker();
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a misspelt option",
      { partitionkey: () => "k" },
      "broker emitter: unknown option `partitionkey` (did you mean `partitionKey`?)",
    ],
    [
      "a misspelt delivery option",
      { delivery: { maxQueueEvent: 10 } },
      "broker emitter: delivery: unknown option `maxQueueEvent` (did you mean `maxQueueEvents`?)",
    ],
  ];
  for (const [what, extra, message] of cases) {
    it(what, () => {
      const create = () => createBrokerEmitter({ broker, topic: "t", ...extra } as never);
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(message);
    });
  }
});
