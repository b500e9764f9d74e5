// createKafkaBroker and createKafkaSource check their option names and values at construction, and
// name the factory in every message.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createKafkaBroker, type KafkaBrokerOptions } from "../../src/kafka/kafka-broker.js";
import { createKafkaSource } from "../../src/kafka/kafka-source.js";

const BROKER = {
  bootstrapBrokers: ["kafka-1:9092"],
  clientId: "projects-api",
  createProducer: () => ({ send: async () => ({}), close: async () => {} }),
};

describe("createKafkaBroker", () => {
  const cases: [string, unknown, string][] = [
    [
      "a misspelt option",
      { ...BROKER, maxMessageByte: 10 },
      "kafka broker: unknown option `maxMessageByte` (did you mean `maxMessageBytes`?)",
    ],
    [
      "no options at all",
      undefined,
      "kafka broker: options must be an object with `bootstrapBrokers` and `clientId`, got undefined",
    ],
    [
      // Node fires a timer above 2^31 - 1 ms after 1 ms: every publish would time out at once.
      "a timeout longer than a timer holds",
      { ...BROKER, timeoutMs: 2 ** 31 },
      "kafka broker: `timeoutMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
    ],
    [
      "a message limit above the default request limit, naming the option set",
      { ...BROKER, maxMessageBytes: 1e12 },
      "kafka broker: `maxMessageBytes` must be at most `maxRequestBytes` (default 1000000), got 1000000000000; raise both",
    ],
    [
      "a request limit below the message limit, both set",
      { ...BROKER, maxMessageBytes: 2000, maxRequestBytes: 1000 },
      "kafka broker: `maxRequestBytes` must be an integer of at least `maxMessageBytes` (2000), got 1000",
    ],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, () => {
      const create = () => createKafkaBroker(options as KafkaBrokerOptions);
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(message);
    });
  }

  it("takes the longest timer a Node timer holds", async () => {
    const broker = createKafkaBroker({ ...BROKER, timeoutMs: 2 ** 31 - 1 });
    await broker.close();
  });
});

describe("createKafkaSource", () => {
  const base = { bootstrapBrokers: ["kafka:9092"], topic: "audit", groupId: "ingest" };
  it("refuses a misspelt option", async () => {
    const creating = createKafkaSource({ ...base, groupID: "x" } as never);
    await expect(creating).rejects.toThrow(AuditConfigError);
    await expect(creating).rejects.toThrow(
      "kafka source: unknown option `groupID` (did you mean `groupId`?)",
    );
  });

  it("refuses a timeout longer than a timer holds", async () => {
    await expect(createKafkaSource({ ...base, timeoutMs: 2 ** 31 })).rejects.toThrow(
      "kafka source: `timeoutMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
    );
  });

  it("refuses an onError that is not a function", async () => {
    await expect(createKafkaSource({ ...base, onError: "log" as never })).rejects.toThrow(
      "kafka source: `onError` must be a function",
    );
  });
});
