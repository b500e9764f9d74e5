// deliveryOf reads a JetStream message's delivery counters from its ack subject as the client's
// `msg.info` does, and leaves every subject it does not read the same way to `msg.info`.
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { deliveryOf } from "../../src/nats/delivery-info.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

/** What `msg.info` gives in these tests: deliveryOf returned it, so it did not read the subject itself. */
const FROM_CLIENT = Object.freeze({ deliveryCount: -1, streamSequence: -1, deliverySequence: -1 });

/** A message whose core message has `reply`; its `info` is FROM_CLIENT. */
const withReply = (reply: unknown) => ({ msg: { reply }, info: FROM_CLIENT }) as unknown as JsMsg;

describe("deliveryOf", () => {
  it.each([
    ["the old format", "$JS.ACK.AUDIT.ingest.2.17.40.1733300000000000000.5", [2, 17, 40]],
    [
      "the new format, with domain, account hash and a random token",
      "$JS.ACK.hub.ACCHASH.AUDIT.ingest.1.3.9.1733300000000000000.0.xYz1",
      [1, 3, 9],
    ],
    [
      "the new format without domain (_) nor random token",
      "$JS.ACK._.ACCHASH.AUDIT.ingest.3.8.12.1.0",
      [3, 8, 12],
    ],
    [
      "digits in the stream and consumer names",
      "$JS.ACK.A1.c2.1.123456789012345.7.1.0",
      [1, 123456789012345, 7],
    ],
  ])("reads %s", (_, reply, [deliveryCount, streamSequence, deliverySequence]) => {
    expect(deliveryOf(withReply(reply))).toStrictEqual({ deliveryCount, streamSequence, deliverySequence });
  });

  it.each([
    ["a count that is not digits", "$JS.ACK.AUDIT.ingest.x.17.40.1.5"],
    ["an empty sequence", "$JS.ACK.AUDIT.ingest.1..40.1.5"],
    [
      "a sequence of 16 digits (beyond what is read exactly)",
      "$JS.ACK.AUDIT.ingest.1.1234567890123456.40.1.5",
    ],
    ["10 tokens, which the client refuses", "$JS.ACK.x.AUDIT.ingest.1.17.40.1.5"],
    ["another subject than an ack's", "_INBOX.abc.def"],
    ["more tokens than any format", "$JS.ACK.a.b.c.d.1.2.3.4.5.6.7.8.9"],
    ["no reply", undefined],
  ])("leaves %s to the client", (_, reply) => {
    expect(deliveryOf(withReply(reply))).toBe(FROM_CLIENT);
  });

  it("gives what msg.info gives for real deliveries and redeliveries", async () => {
    const jsm = await jetstreamManager(nc());
    await jsm.streams.add({ name: "DELIVERY", subjects: ["delivery.>"] });
    await jsm.consumers.add("DELIVERY", { durable_name: "c", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc());
    for (let i = 0; i < 3; i++) await js.publish("delivery.x", new Uint8Array([i]));
    const consumer = await js.consumers.get("DELIVERY", "c");
    const read = async (max: number) => {
      const seen: JsMsg[] = [];
      for await (const msg of await consumer.fetch({ max_messages: max, expires: 1000 })) {
        seen.push(msg);
        if (seen.length === max) break;
      }
      return seen;
    };
    const first = await read(3);
    first[1]?.nak(); // comes again: delivery count 2
    for (const msg of [first[0], first[2]]) msg?.ack();
    const again = await read(1);
    again[0]?.ack();
    const counters = [...first, ...again].map((msg) => {
      const { deliveryCount, streamSequence, deliverySequence } = msg.info;
      return { deliveryCount, streamSequence, deliverySequence };
    });
    expect(counters.map((c) => [c.deliveryCount, c.streamSequence])).toStrictEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 2],
    ]);
    expect([...first, ...again].map(deliveryOf)).toStrictEqual(counters);
  });
});
