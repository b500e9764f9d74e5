/**
 * What createNatsSource checks at open of a stream and a dead-letter stream made elsewhere, against
 * a real nats-server: a consumer that would read only part of the stream when the whole was asked is
 * refused; an existing dead-letter stream is used as it is, or refused when it does not capture the
 * dead-letter subject.
 */
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

it("refuses a consumer made elsewhere that filters part of the stream when no subject was asked", async () => {
  await ensureAuditStream(nc(), { name: "PART", subjects: ["part.>"] });
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("PART", {
    durable_name: "ingest",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "part.a",
  });

  const opened = createNatsSource({ connection: nc(), stream: "PART", consumer: "ingest" });
  await expect(opened).rejects.toThrow(AuditConfigError);
  await expect(opened).rejects.toThrow(
    'nats source: consumer "ingest" of stream "PART" filters ["part.a"], not the whole stream as asked (no ' +
      "subject): the messages of other subjects would never be ingested: delete it, give that subject, or " +
      "name another consumer",
  );
});

it("uses an existing dead-letter stream as it is: other applications' subjects and its limits stay", async () => {
  await ensureAuditStream(nc(), { name: "AUDIT", subjects: ["audit.>"] });
  const jsm = await jetstreamManager(nc());
  const made = await jsm.streams.add({
    name: "DLQ",
    subjects: ["dlq.>"],
    max_age: nanos(7 * 86_400_000),
    max_bytes: 1e9,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(60_000),
  });

  const source = await createNatsSource({
    connection: nc(),
    stream: "AUDIT",
    consumer: "ingest",
    deadLetterStream: "DLQ",
    deadLetterSubject: "dlq.audit",
  });
  await source.close();
  const ack = await jetstream(nc()).publish("dlq.orders", new Uint8Array([1]));

  expect((await jsm.streams.info("DLQ")).config).toStrictEqual(made.config);
  expect(ack.stream).toBe("DLQ");
});

it("refuses an existing dead-letter stream that does not capture the dead-letter subject", async () => {
  await ensureAuditStream(nc(), { name: "AUDIT2", subjects: ["audit2.>"] });
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "ORDERS_DLQ", subjects: ["orders.dlq"] });

  const opened = createNatsSource({
    connection: nc(),
    stream: "AUDIT2",
    consumer: "ingest",
    deadLetterStream: "ORDERS_DLQ",
  });
  await expect(opened).rejects.toThrow(AuditConfigError);
  await expect(opened).rejects.toThrow(
    'nats source: dead-letter stream "ORDERS_DLQ" does not capture "grpc-audit.dead-letter.AUDIT2" (its ' +
      'subjects: ["orders.dlq"]): add that subject to it, or name another stream or subject ' +
      "(deadLetterStream, deadLetterSubject)",
  );
});
