/**
 * What createKafkaSource reports when Kafka refuses or cannot be read, and a header without a value,
 * through the real `@platformatic/kafka` client against a loopback stand-in that speaks the Kafka wire
 * protocol (wire-broker/: no Kafka broker can run here). The stand-in checks SASL PLAIN credentials and
 * answers a fetch past a partition's end with OFFSET_OUT_OF_RANGE, as Kafka does.
 */

import { join } from "node:path";
import { inspect } from "node:util";
import { Producer } from "@platformatic/kafka";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester } from "../../src/ingest/index.js";
import { createKafkaSource } from "../../src/kafka/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { fetchAll } from "./fetch-all.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

const TOPIC = "audit-events";
const PASSWORD = "s3cr3t-Pa55";
let kafka: WireBroker;
let store: AuditStore;
beforeEach(async () => {
  kafka = await startWireBroker();
  store = openAuditStore({ path: join(tempDir(), "kafka.db") });
});
afterEach(async () => {
  store.close();
  await kafka.close();
});

const publish = (events: readonly AuditEvent[]) => publishToWire(kafka, TOPIC, events);

const stored = () => store.query({}, { limit: 1000 }).events.length;

describe("createKafkaSource failures (loopback stand-in broker)", () => {
  it("names SASL_AUTHENTICATION_FAILED when the password is wrong, without the password", async () => {
    kafka.createTopic(TOPIC);
    kafka.state.saslUsers.set("audit", "the-right-one");
    const error: Error = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: "ingest",
      timeoutMs: 3000,
      sasl: { mechanism: "PLAIN", username: "audit", password: PASSWORD },
    }).then(
      () => expect.unreachable("opened with a wrong password"),
      (e: Error) => e,
    );
    expect(error.message).toBe(
      `joining group "ingest" on topic "${TOPIC}" failed: Connection to ${kafka.bootstrapBrokers[0]} failed ` +
        "(SASL authentication failed (SASL_AUTHENTICATION_FAILED))",
    );
    expect(inspect(error, { depth: 10 })).not.toContain(PASSWORD);
  });

  it("names the refused connection when no broker listens", async () => {
    const [address] = kafka.bootstrapBrokers;
    await kafka.close();
    const error: Error = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: "ingest",
      timeoutMs: 3000,
    }).then(
      () => expect.unreachable("opened without a broker"),
      (e: Error) => e,
    );
    expect(error.message).toMatch(
      new RegExp(`^joining group "ingest" on topic "${TOPIC}" failed: .*ECONNREFUSED ${address}`),
    );
  });

  it("fails naming the partition, the offsets and the remedy when the committed offset is past the end", async () => {
    kafka.createTopic(TOPIC);
    const events = seedEvents(60);
    await publish(events.slice(0, 50));
    let source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: "g",
    });
    let ingester = createIngester({ source, store, batchSize: 50 });
    await until(() => kafka.committed("g", TOPIC).get(0)?.offset === 50n, "the first 50 committed");
    await ingester.stop();
    await source.close();
    // The topic is deleted and created again under the same name: its offsets start at 0 again.
    kafka.state.topics.delete(TOPIC);
    kafka.createTopic(TOPIC);
    await publish(events.slice(50, 60));

    const errors: string[] = [];
    source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: "g",
    });
    ingester = createIngester({ source, store, retryDelayMs: 10, onError: (e) => errors.push(e.message) });
    await until(() => errors.length >= 2, "two failed fetches");
    expect(new Set(errors)).toStrictEqual(
      new Set([
        `group "g" has committed offsets past the end of topic "${TOPIC}" (partition 0: committed 50, end 10): ` +
          "was the topic deleted and created again? Reset the group's offsets, e.g. kafka-consumer-groups " +
          `--bootstrap-server <broker> --group g --topic ${TOPIC} --reset-offsets --to-earliest --execute ` +
          "(with every ingester of the group stopped)",
      ]),
    );
    expect(source.lag()).toBe(-40);
    expect(stored()).toBe(50);
    await ingester.stop();
    await source.close();
    expect(kafka.committed("g", TOPIC).get(0)?.offset).toBe(50n);
  });

  it("takes a header with a null value as absent", async () => {
    kafka.createTopic(TOPIC);
    const [event] = seedEvents(1);
    await publish(event === undefined ? [] : [event]);
    const [sent] = kafka.records(TOPIC, 0);
    // The same event again, its content-type header without a value (Kafka allows it).
    const producer = new Producer({ clientId: "odd", bootstrapBrokers: kafka.bootstrapBrokers });
    await producer.send({
      messages: [
        {
          topic: TOPIC,
          key: Buffer.from("k"),
          value: sent?.value ?? Buffer.alloc(0),
          headers: new Map([[Buffer.from("content-type"), null as unknown as Buffer]]),
        },
      ],
    });
    await producer.close();

    const source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: TOPIC,
      groupId: "g",
    });
    const messages = await fetchAll(source, 2, new AbortController().signal);
    expect(messages.map((m) => m.header("content-type"))).toStrictEqual([
      "application/x-protobuf",
      undefined,
    ]);
    await source.close();
  });
});
