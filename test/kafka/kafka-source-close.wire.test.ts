/**
 * Closing and stopping createKafkaSource while Kafka cannot be reached or holds a join, through the real `@platformatic/kafka` client against the loopback stand-in that speaks
 * the Kafka wire protocol (wire-broker/: no Kafka broker can run here).
 */
import { type Callback, type ConsumeOptions, Consumer, type MessagesStream } from "@platformatic/kafka";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createKafkaSource } from "../../src/kafka/index.js";
import { seedEvents } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { killedMember } from "./killed-member.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

it("close() resolves with the broker gone, keeps what was committed and reports the leave it gave up", async () => {
  kafka.createTopic(TOPIC);
  await publishToWire(kafka, TOPIC, seedEvents(5));
  const errors: string[] = [];
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: "ingest",
    onError: (error) => errors.push(error.message),
  });
  const running = new AbortController().signal;
  const fetched = [];
  while (fetched.length < 5) fetched.push(...(await source.fetch(5, 1000, running)));
  await source.ack(fetched);
  await kafka.stop();

  await expect(source.close()).resolves.toBeUndefined();
  expect(errors).toStrictEqual([
    expect.stringMatching(
      /^leaving group "ingest" on topic "audit-events" failed: .+; its partitions go to the other members when its session times out \(10 s\), from the offsets committed$/,
    ),
  ]);
  expect(kafka.committed("ingest", TOPIC).get(0)?.offset).toBe(5n);
}, 30_000);

it("a fetch stopped while its stream reopens returns at once, and close() resolves", async () => {
  kafka.createTopic(TOPIC, { partitions: 2 });
  let consuming = 0; // consume() calls not settled yet: one that must join the group waits for it
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: "ingest",
    createConsumer: (options) => {
      const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>(options);
      const consume = consumer.consume.bind(consumer);
      return Object.assign(consumer, {
        consume: (
          o: ConsumeOptions<Buffer, Buffer, Buffer, Buffer>,
          callback: Callback<MessagesStream<Buffer, Buffer, Buffer, Buffer>>,
        ) => {
          consuming++;
          consume(o, (error, stream) => {
            consuming--;
            callback(error, stream);
          });
        },
      });
    },
  });
  // A member that never left holds the group: rejoining waits for it (its session, 60 s).
  await killedMember(kafka.bootstrapBrokers, TOPIC, "ingest");
  // The stream fails while the broker is down; opening the next one has to join the group again.
  await kafka.stop();
  const running = new AbortController().signal;
  await until(
    () =>
      source.fetch(10, 100, running).then(
        () => false,
        () => true,
      ),
    "a fetch to fail",
  );
  await kafka.start();
  const stopping = new AbortController();
  let result: unknown;
  void source.fetch(10, 100, stopping.signal).then(
    (messages) => {
      result = messages;
    },
    (error: Error) => {
      result = error;
    },
  );
  await until(() => consuming > 0, "the stream to be reopening");
  stopping.abort();
  await until(() => result !== undefined, "the stopped fetch to return");
  expect(result).toStrictEqual([]);
  expect(consuming).toBe(1); // the join still waits
  let closed = false;
  void source.close().then(() => {
    closed = true;
  });
  await until(() => closed, "close() to resolve");
}, 60_000);

it("close() while a reopened stream's join is answered: the stream the client makes after it fails unseen", async () => {
  kafka.createTopic(TOPIC);
  const source = await createKafkaSource({
    bootstrapBrokers: kafka.bootstrapBrokers,
    topic: TOPIC,
    groupId: "ingest",
  });
  // The stream fails while the broker is down; opening the next one has to join the group again.
  await kafka.stop();
  const running = new AbortController().signal;
  await until(
    () =>
      source.fetch(10, 100, running).then(
        () => false,
        () => true,
      ),
    "a fetch to fail",
  );
  await kafka.start();
  let letGo = () => {};
  let syncsHeld = 0;
  kafka.state.holdAnswer = (api) => {
    if (api !== "SyncGroup") return undefined;
    syncsHeld++;
    return new Promise((resolve) => {
      letGo = resolve;
    });
  };
  const fetched = source.fetch(10, 100, running).then(
    () => "returned",
    (error: Error) => error.message,
  );
  await until(() => syncsHeld > 0, "the join's SyncGroup to be held");
  // close() closes the client at once; the join it did not wait for then completes, and the client
  // makes the stream, whose first step (listing offsets) fails on the closed client before the
  // source's `await` of consume() would have seen the stream.
  const closed = source.close();
  letGo();
  await closed;
  expect(await fetched).toBe(
    `reading topic "${TOPIC}" failed: the source was closed while the stream opened`,
  );
}, 30_000);
