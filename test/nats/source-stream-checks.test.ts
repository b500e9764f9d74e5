/**
 * What the NATS source checks of the stream and consumer at open, against a real nats-server: a
 * stream with interest retention deletes messages no consumer wanted, unread and uncounted (named in
 * the warnings); a consumer whose filter leaves out some of the stream's subjects, when the whole
 * stream was asked, would never read their events (refused).
 */
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsSource } from "../../src/nats/index.js";
import { checkConsumer } from "../../src/nats/source-checks.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

describe("a stream's retention", () => {
  it("interest: named in the warnings, as the messages stored while no consumer existed are gone uncounted", async () => {
    const jsm = await jetstreamManager(nc());
    await jsm.streams.add({
      name: "INTEREST",
      subjects: ["interest.>"],
      retention: RetentionPolicy.Interest,
    });
    const js = jetstream(nc());
    for (let i = 0; i < 5; i++) await js.publish("interest.events", new Uint8Array([i]));

    const source = await createNatsSource({ connection: nc(), stream: "INTEREST", consumer: "ingest" });
    const fetched = await source.fetch(10, 1000, new AbortController().signal);
    expect([
      fetched.length,
      source.lost?.(),
      (await jsm.streams.info("INTEREST")).state.last_seq,
    ]).toStrictEqual([0, 0, 5]);
    expect(source.warnings).toStrictEqual([
      'stream "INTEREST" has interest retention: it deletes a message at once when no consumer is interested ' +
        "(stored before this consumer existed, or outside its filter), and once every consumer acknowledged " +
        "it: those deleted unread were never ingested, uncounted; use a stream with limits retention (see " +
        "ensureAuditStream)",
    ]);
    await source.close();
  });

  it("work queue: no warning, as it keeps each message until a consumer (ingest) acknowledged it", async () => {
    const jsm = await jetstreamManager(nc());
    await jsm.streams.add({
      name: "WORKQUEUE",
      subjects: ["workqueue.>"],
      retention: RetentionPolicy.Workqueue,
    });
    const js = jetstream(nc());
    for (let i = 0; i < 5; i++) await js.publish("workqueue.events", new Uint8Array([i]));

    const source = await createNatsSource({ connection: nc(), stream: "WORKQUEUE", consumer: "ingest" });
    const fetched = await source.fetch(5, 1000, new AbortController().signal);
    expect([fetched.length, source.warnings]).toStrictEqual([5, []]);
    await source.close();
  });
});

describe("checkConsumer given the stream, when no subject was asked", () => {
  const consumerOf = async (durable: string, filter: string) => {
    const jsm = await jetstreamManager(nc());
    await jsm.streams
      .add({ name: "FILTERED", subjects: ["filtered.a", "filtered.b.>"] })
      .catch(() => undefined);
    const consumer = await jsm.consumers.add("FILTERED", {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filter,
    });
    return { consumer: consumer.config, stream: (await jsm.streams.info("FILTERED")).config };
  };

  it("refuses a consumer that filters only some of the stream's subjects: the others would never be read", async () => {
    const { consumer, stream } = await consumerOf("part", "filtered.a");
    const check = () => checkConsumer(consumer, "FILTERED", "part", undefined, stream);
    expect(check).toThrow(AuditConfigError);
    expect(check).toThrow(
      'nats source: consumer "part" of stream "FILTERED" filters ["filtered.a"], not the whole stream as asked ' +
        "(no subject): the messages of other subjects would never be ingested: delete it, give that subject, " +
        "or name another consumer",
    );
  });

  it("uses a consumer whose filter covers every subject of the stream", async () => {
    const { consumer, stream } = await consumerOf("whole", "filtered.>");
    expect(() => checkConsumer(consumer, "FILTERED", "whole", undefined, stream)).not.toThrow();
  });
});
