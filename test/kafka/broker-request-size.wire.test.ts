/**
 * How createKafkaBroker splits a publish into produce requests, through the real `@platformatic/kafka`
 * Producer against a loopback stand-in that speaks the Kafka wire protocol (wire-broker/: no Kafka
 * broker can run here). The stand-in refuses a record batch over the topic's max.message.bytes
 * (1048588 by default, as Kafka) with MESSAGE_TOO_LARGE and counts the produce requests.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { startWireBroker, type WireBroker } from "./wire-broker/index.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

it("counts each record as encoded: many small messages under maxRequestBytes of payload go in a few requests", async () => {
  kafka.createTopic(TOPIC, { partitions: 1 });
  // CloudEvents-like headers: key, value and headers come to 337 bytes a message, 997520 in all (under
  // maxRequestBytes, 1000000), but the record batch holding them is over max.message.bytes.
  const messages = Array.from({ length: 2960 }, (_, i) => {
    const id = `evt-${String(i).padStart(32, "0")}`;
    return {
      key: "tenant-1",
      value: new Uint8Array(60).fill(65),
      headers: {
        "grpc-audit-event-id": id,
        "content-type": "application/x-protobuf",
        ce_specversion: "1.0",
        ce_id: id,
        ce_source: "projects-api",
        ce_type: "grpcaudit.v1.authz.decision",
        ce_time: "2026-12-05T22:00:00Z",
        ce_datacontenttype: "application/x-protobuf",
      },
    };
  });
  const payload = messages.reduce(
    (sum, m) =>
      sum +
      m.key.length +
      m.value.length +
      Object.entries(m.headers).reduce((a, [k, v]) => a + k.length + v.length, 0),
    0,
  );
  expect(payload).toBe(997_520);
  kafka.state.produceFault = () => undefined; // counts the produce requests, fails none
  const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
  await broker.publish(TOPIC, messages);
  await broker.close();

  // Two record batches of at most 1000000 bytes each, none refused (no request per message).
  expect(kafka.state.produceRequests).toBe(2);
  const stored = kafka.records(TOPIC, 0);
  expect(stored.map((r) => r.offset)).toStrictEqual(messages.map((_, i) => BigInt(i)));
  expect(kafka.errors).toStrictEqual([]);
});
