import type { ProducerOptions, SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import { createKafkaBroker, type KafkaBrokerOptions, type KafkaProducer } from "../../src/kafka/index.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";

type Options = ProducerOptions<Buffer, Buffer, Buffer, Buffer>;
type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

/** A fake producer at the client boundary: records options and send() arguments; can fail or hang. */
function fakeProducer() {
  const fake = {
    options: undefined as Options | undefined,
    sends: [] as Send[],
    closed: 0,
    failWith: undefined as Error | undefined,
    hang: false,
    create(options: Options): KafkaProducer {
      fake.options = options;
      return {
        send: async (send) => {
          fake.sends.push(send);
          if (fake.failWith !== undefined) throw fake.failWith;
          if (fake.hang) await new Promise(() => {});
          return { offsets: [] };
        },
        close: async () => {
          fake.closed++;
        },
      };
    },
  };
  return fake;
}

const BASE: KafkaBrokerOptions = {
  bootstrapBrokers: ["kafka-1:9092", "kafka-2:9092"],
  clientId: "projects-api",
};

/** A send's messages as plain strings, to compare whole. */
function plain(send: Send | undefined) {
  return send?.messages.map((m) => ({
    topic: m.topic,
    key: m.key?.toString("utf8"),
    value: m.value,
    headers:
      m.headers instanceof Map ? [...m.headers].map(([k, v]) => [k.toString(), v.toString()]) : m.headers,
  }));
}

describe("createKafkaBroker", () => {
  it("creates an idempotent producer acknowledged by all in-sync replicas, with TLS and SASL passed through", () => {
    const fake = fakeProducer();
    const tls = { ca: "CA PEM", servername: "kafka.internal" };
    const sasl = { mechanism: "SCRAM-SHA-512" as const, username: "audit", password: "secret" };
    const broker = createKafkaBroker({
      ...BASE,
      compression: "zstd",
      tls,
      sasl,
      timeoutMs: 8000,
      createProducer: fake.create,
    });

    expect(fake.options).toStrictEqual({
      clientId: "projects-api",
      bootstrapBrokers: ["kafka-1:9092", "kafka-2:9092"],
      idempotent: true,
      acks: -1,
      retries: 3,
      compression: "zstd",
      tls,
      sasl,
      connectTimeout: 8000,
      requestTimeout: 8000,
      timeout: 8000,
    });
    expect(broker).toMatchObject({
      name: "kafka",
      maxMessageBytes: 1_000_000,
      cloudEventsHeaderPrefix: "ce_",
    });
  });

  it("sends each message with its key, value and headers to the topic, with acks -1, idempotent and compression", async () => {
    const fake = fakeProducer();
    const broker = createKafkaBroker({ ...BASE, compression: "gzip", createProducer: fake.create });
    const value = new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 4);
    await broker.publish("audit-events", [
      {
        key: "p-42",
        value,
        headers: { "content-type": "application/x-protobuf", "grpc-audit-event-id": "e-1" },
      },
      { key: "p-43", value: new Uint8Array(0), headers: {} },
    ]);

    expect(fake.sends).toHaveLength(1);
    const [send] = fake.sends;
    expect({ ...send, messages: plain(send) }).toStrictEqual({
      acks: -1,
      idempotent: true,
      compression: "gzip",
      messages: [
        {
          topic: "audit-events",
          key: "p-42",
          value: Buffer.from([2, 3, 4]),
          headers: [
            ["content-type", "application/x-protobuf"],
            ["grpc-audit-event-id", "e-1"],
          ],
        },
        { topic: "audit-events", key: "p-43", value: Buffer.alloc(0), headers: [] },
      ],
    });
  });

  it("carries the broker sink's messages, with CloudEvents headers in the Kafka binding", async () => {
    const fake = fakeProducer();
    const broker = createKafkaBroker({ ...BASE, createProducer: fake.create });
    await createBrokerSink({ broker, topic: "audit-events", cloudEvents: true }).write([sampleEvent()]);

    const [message] = plain(fake.sends[0]) ?? [];
    expect(message?.key).toBe(SAMPLE_IDS.authz);
    expect(Object.fromEntries(message?.headers as [string, string][])).toMatchObject({
      "grpc-audit-event-id": SAMPLE_IDS.authz,
      ce_id: SAMPLE_IDS.authz,
      ce_specversion: "1.0",
    });
    expect(fake.sends[0]?.compression).toBe("none");
  });

  it("splits a batch into requests of at most maxRequestBytes, in order", async () => {
    const fake = fakeProducer();
    // A record batch: its 61-byte header, then 109 bytes a record (length 2, attributes 1, deltas 2,
    // key 1 + 1, value 2 + 99, header count 1): two records are 279 bytes, three 388.
    const broker = createKafkaBroker({
      ...BASE,
      maxMessageBytes: 100,
      maxRequestBytes: 300,
      createProducer: fake.create,
    });
    const message = (key: string) => ({ key, value: new Uint8Array(99), headers: {} });
    await broker.publish("t", ["a", "b", "c", "d", "e"].map(message));

    expect(fake.sends.map((send) => send.messages.map((m) => m.key?.toString()))).toStrictEqual([
      ["a", "b"],
      ["c", "d"],
      ["e"],
    ]);
  });

  it("refuses a message over maxMessageBytes before sending anything of its batch", async () => {
    const fake = fakeProducer();
    const broker = createKafkaBroker({ ...BASE, maxMessageBytes: 100, createProducer: fake.create });
    const publishing = broker.publish("t", [
      { key: "k1", value: new Uint8Array(10), headers: {} },
      { key: "k2", value: new Uint8Array(60), headers: { "grpc-audit-event-id": "e-2", h: "x".repeat(20) } },
    ]);
    // key 2 + value 60 + header names 19 + 1 + header values 3 + 20
    await expect(publishing).rejects.toThrow(
      "kafka: message for event e-2 is 105 bytes, over this producer's maxMessageBytes (100); nothing of this batch was sent",
    );
    expect(fake.sends).toStrictEqual([]);
  });

  it("rejects with the client's error as cause when a send fails", async () => {
    const fake = fakeProducer();
    const failure = new Error("NOT_ENOUGH_REPLICAS");
    fake.failWith = failure;
    const broker = createKafkaBroker({ ...BASE, createProducer: fake.create });
    const publishing = broker.publish("t", [{ key: "k", value: new Uint8Array(1), headers: {} }]);

    await expect(publishing).rejects.toThrow(AuditEmitError);
    await expect(publishing).rejects.toThrow(
      'kafka: send to "t" failed after 0 of 1 messages: NOT_ENOUGH_REPLICAS',
    );
    await expect(publishing).rejects.toHaveProperty("cause", failure);
  });

  it("rejects when the signal aborts a send that hangs", async () => {
    const fake = fakeProducer();
    fake.hang = true;
    const broker = createKafkaBroker({ ...BASE, createProducer: fake.create });
    const controller = new AbortController();
    const publishing = broker.publish("t", [{ key: "k", value: new Uint8Array(1), headers: {} }], {
      signal: controller.signal,
    });
    controller.abort(new Error("pipeline timeout"));
    await expect(publishing).rejects.toThrow("pipeline timeout");
  });

  it("closes the producer once, after in-flight sends, and refuses later publishes", async () => {
    const fake = fakeProducer();
    const broker = createKafkaBroker({ ...BASE, createProducer: fake.create });
    const publishing = broker.publish("t", [{ key: "k", value: new Uint8Array(1), headers: {} }]);
    await Promise.all([broker.close(), broker.close()]);
    await publishing;

    expect(fake.closed).toBe(1);
    await expect(broker.publish("t", [])).rejects.toThrow("kafka: publish after close()");
  });

  it("starts no send before the one before it settled, even one a signal abandoned", async () => {
    let answer: () => void = () => {};
    const sends: string[] = [];
    const broker = createKafkaBroker({
      ...BASE,
      createProducer: () => ({
        send: (send) => {
          sends.push(String(send.messages[0]?.key));
          return sends.length === 1
            ? new Promise((resolve) => (answer = () => resolve({})))
            : Promise.resolve({});
        },
        close: async () => {},
      }),
    });
    const message = (key: string) => [{ key, value: new Uint8Array(1), headers: {} }];
    const controller = new AbortController();
    const first = broker.publish("t", message("a"), { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends).toStrictEqual(["a"]);
    controller.abort(new Error("write timeout"));
    await expect(first).rejects.toThrow("write timeout");
    const second = broker.publish("t", message("b"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends).toStrictEqual(["a"]);
    answer();
    await second;
    expect(sends).toStrictEqual(["a", "b"]);
  });

  it("replaces a producer whose sequence Kafka refuses, closing the old one", async () => {
    const made: { sends: number; closed: number }[] = [];
    const outOfOrder = Object.assign(new Error("Producing messages failed."), {
      errors: [{ apiId: "OUT_OF_ORDER_SEQUENCE_NUMBER" }],
    });
    const broker = createKafkaBroker({
      ...BASE,
      createProducer: () => {
        const producer = { sends: 0, closed: 0 };
        made.push(producer);
        return {
          send: async () => {
            producer.sends++;
            if (made.length === 1) throw outOfOrder;
            return {};
          },
          close: async () => {
            producer.closed++;
          },
        };
      },
    });
    const message = [{ key: "k", value: new Uint8Array(1), headers: {} }];
    await expect(broker.publish("t", message)).rejects.toThrow(
      'kafka: send to "t" failed after 0 of 1 messages: OUT_OF_ORDER_SEQUENCE_NUMBER',
    );
    await broker.publish("t", message);
    await broker.close();
    expect(made).toStrictEqual([
      { sends: 1, closed: 1 },
      { sends: 1, closed: 1 },
    ]);
  });

  it("builds a real @platformatic/kafka producer by default, which connects only when sending", async () => {
    const broker = createKafkaBroker({ bootstrapBrokers: ["127.0.0.1:9"], clientId: "unit" });
    await broker.close();
    expect(broker.name).toBe("kafka");
  });

  describe("rejects bad options at construction, naming the option", () => {
    const cases: [string, unknown, RegExp][] = [
      ["no bootstrap brokers", { ...BASE, bootstrapBrokers: [] }, /^kafka broker: `bootstrapBrokers` must /],
      [
        "a broker without a port",
        { ...BASE, bootstrapBrokers: ["kafka-1"] },
        /^kafka broker: `bootstrapBrokers` must /,
      ],
      ["no client id", { ...BASE, clientId: "" }, /^kafka broker: `clientId` must /],
      [
        "an unknown compression",
        { ...BASE, compression: "brotli" },
        /^kafka broker: `compression` must .*"brotli"/,
      ],
      ["a zero message limit", { ...BASE, maxMessageBytes: 0 }, /^kafka broker: `maxMessageBytes` must /],
      [
        "a request limit below the message limit",
        { ...BASE, maxRequestBytes: 10 },
        /^kafka broker: `maxRequestBytes` must /,
      ],
      ["a negative timeout", { ...BASE, timeoutMs: -1 }, /^kafka broker: `timeoutMs` must /],
      [
        "a producer factory that is not a function",
        { ...BASE, createProducer: {} },
        /^kafka broker: `createProducer` must /,
      ],
    ];
    for (const [what, options, message] of cases) {
      it(what, () => {
        const create = () => createKafkaBroker(options as KafkaBrokerOptions);
        expect(create).toThrow(AuditConfigError);
        expect(create).toThrow(message);
      });
    }
  });
});
