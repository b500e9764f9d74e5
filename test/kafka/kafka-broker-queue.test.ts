/**
 * The Kafka broker's send queue, at the client boundary (a producer whose sends the test answers):
 * publishes called at once, as the delivery pipeline does with `maxInFlightBatches` above 1, send
 * their requests one at a time, in the order of the calls, a publish's requests together.
 */
import type { SendOptions } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { createKafkaBroker, type KafkaBrokerOptions } from "../../src/kafka/index.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

/** A producer whose sends wait until `answer()`: records each send's keys and the most unanswered at once. */
function answeredProducer() {
  const pending: (() => void)[] = [];
  const fake = {
    sends: [] as string[][],
    most: 0,
    /** Answers the oldest unanswered send. */
    answer() {
      pending.shift()?.();
    },
    producer: {
      send: (send: Send) => {
        fake.sends.push(send.messages.map((m) => String(m.key)));
        fake.most = Math.max(fake.most, pending.length + 1);
        return new Promise<unknown>((resolve) => pending.push(() => resolve({})));
      },
      close: async () => {},
    },
  };
  return fake;
}

const BASE: KafkaBrokerOptions = { bootstrapBrokers: ["kafka-1:9092"], clientId: "projects-api" };

const messages = (...keys: string[]) => keys.map((key) => ({ key, value: new Uint8Array(50), headers: {} }));

/** Lets the broker's queued continuations run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createKafkaBroker with publishes at once", () => {
  it("sends one request at a time, in the order of the calls, each publish's requests together", async () => {
    const fake = answeredProducer();
    // 100 bytes a request: two 51-byte messages go in two requests.
    const broker = createKafkaBroker({
      ...BASE,
      maxMessageBytes: 100,
      maxRequestBytes: 100,
      createProducer: () => fake.producer,
    });
    const publishes = [
      broker.publish("t", messages("a1", "a2")),
      broker.publish("t", messages("b1")),
      broker.publish("t", messages("c1", "c2")),
    ];
    for (let i = 0; i < 5; i++) {
      await tick();
      fake.answer();
    }
    await Promise.all(publishes);
    expect(fake.sends).toStrictEqual([["a1"], ["a2"], ["b1"], ["c1"], ["c2"]]);
    expect(fake.most).toBe(1);
  });

  it("sends nothing of a publish abandoned before its turn, and the next goes after the one in flight", async () => {
    const fake = answeredProducer();
    const broker = createKafkaBroker({ ...BASE, createProducer: () => fake.producer });
    const controller = new AbortController();
    const first = broker.publish("t", messages("a"), { signal: controller.signal });
    const second = broker.publish("t", messages("b"), { signal: controller.signal });
    const third = broker.publish("t", messages("c"));
    await tick();
    controller.abort(new Error("write timeout"));
    await expect(first).rejects.toThrow('kafka: send to "t" failed after 0 of 1 messages: write timeout');
    await expect(second).rejects.toThrow('kafka: send to "t" failed after 0 of 1 messages: write timeout');
    await tick();
    expect(fake.sends).toStrictEqual([["a"]]);
    fake.answer();
    await tick();
    fake.answer();
    await third;
    expect(fake.sends).toStrictEqual([["a"], ["c"]]);
    expect(fake.most).toBe(1);
  });
});
