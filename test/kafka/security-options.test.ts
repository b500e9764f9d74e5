/**
 * Bad `sasl`/`tls` options of createKafkaBroker and createKafkaSource. @platformatic/kafka
 * validates its options only in strict mode (off by default), so before this check a mechanism it does
 * not speak or a missing password was accepted and failed only when connecting (the broker emitter then
 * retries for ever; the source rejects with the client's AggregateError). They are refused at once with
 * an AuditConfigError naming the option, never holding the credentials. No broker is contacted: the
 * source gets the fake cluster's consumer (test/kafka/fake-kafka.ts), never reached on these options.
 */
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createKafkaBroker, createKafkaSource, type KafkaBrokerOptions } from "../../src/kafka/index.js";
import { fakeKafka } from "./fake-kafka.js";

const SECRET = "hunter2-very-secret";
const cases: [string, unknown, string][] = [
  [
    "a mechanism the client does not speak",
    { mechanism: "scram-sha-512", username: "u", password: SECRET },
    "sasl.mechanism",
  ],
  ["no mechanism", { username: "u", password: SECRET }, "sasl.mechanism"],
  [
    "a password that is not a string",
    { mechanism: "PLAIN", username: "u", password: 12345678 },
    "sasl.password",
  ],
  ["no password for SCRAM", { mechanism: "SCRAM-SHA-256", username: SECRET }, "sasl.password"],
  ["no token for OAUTHBEARER", { mechanism: "OAUTHBEARER" }, "sasl.token"],
  ["a string instead of an object", SECRET, "sasl"],
];

describe("Kafka SASL options are checked at construction, without echoing credentials", () => {
  for (const [what, sasl, option] of cases) {
    it(`createKafkaBroker refuses ${what}`, () => {
      const create = () =>
        createKafkaBroker({
          bootstrapBrokers: ["kafka-1:9092"],
          clientId: "projects-api",
          sasl,
          createProducer: () => ({ send: async () => ({}), close: async () => {} }),
        } as KafkaBrokerOptions);
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(`kafka broker: \`${option}\``);
      try {
        create();
      } catch (error) {
        expect(String((error as Error).message)).not.toContain(SECRET);
        expect(String((error as Error).message)).not.toContain("12345678");
      }
    });
    it(`createKafkaSource refuses ${what}`, async () => {
      const kafka = fakeKafka("audit-events", 1);
      const creating = createKafkaSource({
        bootstrapBrokers: ["kafka-1:9092"],
        topic: "audit-events",
        groupId: "ingest",
        sasl: sasl as never,
        createConsumer: (o) => kafka.createConsumer(o),
      });
      await expect(creating).rejects.toThrow(AuditConfigError);
      await expect(creating).rejects.toThrow(`kafka source: \`${option}\``);
      await creating.catch((error: Error) => expect(error.message).not.toContain(SECRET));
    });
  }

  it("accepts well-formed SASL and TLS options, and refuses a tls that is not an object", () => {
    const base = {
      bootstrapBrokers: ["kafka-1:9092"],
      clientId: "projects-api",
      createProducer: () => ({ send: async () => ({}), close: async () => {} }),
    };
    for (const sasl of [
      { mechanism: "PLAIN", username: "u", password: SECRET },
      { mechanism: "SCRAM-SHA-512", username: "u", password: async () => SECRET },
      { mechanism: "OAUTHBEARER", token: SECRET },
    ] as const)
      expect(() => createKafkaBroker({ ...base, sasl, tls: { ca: "PEM" } })).not.toThrow();
    expect(() => createKafkaBroker({ ...base, tls: "yes" as never })).toThrow(/^kafka broker: `tls` must /);
  });
});
