/**
 * A stream whose `max_msg_size` is below the server's max_payload refuses larger messages for ever,
 * whatever the client checked against max_payload: those events are dropped and counted as
 * "too_large", and the events around them are stored, instead of the batch being retried for ever.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditEventTooLargeError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "./stream-reader.js";

const nc = useNatsServer();

it("drops and counts events over the stream's max_msg_size, and stores the others", async () => {
  const jsm = await jetstreamManager(nc());
  // Made before the stream gets its small max_msg_size: it reads none, so emit accepts the big event
  // and the stream refuses it on write (a stream changed after the broker connected).
  await jsm.streams.add({ name: "SMALL_MSGS", subjects: ["small.>"] });
  const broker = await createNatsBroker({ connection: nc(), stream: "SMALL_MSGS" });
  await jsm.streams.update("SMALL_MSGS", { max_msg_size: 2048 });
  const errors: Error[] = [];
  const emitter = createBrokerEmitter({
    broker,
    topic: "small.events",
    delivery: { onError: (error) => errors.push(error) },
  });
  const big = sampleEvent({ eventId: "evt-big", operation: `/acme.Big/${"x".repeat(4000)}` });
  emitter.emit(sampleEvent({ kind: "authn" }));
  emitter.emit(big);
  emitter.emit(sampleEvent({ kind: "authz" }));

  const report = await emitter.flush({ timeoutMs: 10_000 });
  await emitter.close();

  expect(report).toMatchObject({
    ok: false,
    results: [
      {
        status: "error",
        error: expect.objectContaining({ message: "nats:small.events: flush dropped 1 event (too_large 1)" }),
      },
    ],
    pending: 0,
  });
  const stored = await readStream(nc(), "SMALL_MSGS");
  expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([SAMPLE_IDS.authn, SAMPLE_IDS.authz]);
  expect(emitter.stats()).toMatchObject({ delivered: 2, dropped: { too_large: 1 } });
  expect(errors.map((error) => error.message)).toContain(
    'nats:small.events: dropped 1 event (too_large): the sink refused it: nats: stream "SMALL_MSGS" refused the message for event evt-big as over its max_msg_size: it never stores such a message',
  );
});

it("names the stream and the refused event in the broker's error", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "SMALL_MSGS_2", subjects: ["small2.>"], max_msg_size: 2048 });
  const broker = await createNatsBroker({ connection: nc(), stream: "SMALL_MSGS_2" });
  const value = new Uint8Array(4096);
  const error = await broker
    .publish("small2.events", [
      { key: "evt-ok", value: new Uint8Array(10), headers: { "grpc-audit-event-id": "evt-ok" } },
      { key: "evt-big", value, headers: { "grpc-audit-event-id": "evt-big" } },
    ])
    .catch((e: unknown) => e);
  await broker.close();

  expect(error).toBeInstanceOf(AuditEventTooLargeError);
  expect(error).toMatchObject({
    eventIds: ["evt-big"],
    message:
      'nats: stream "SMALL_MSGS_2" refused the message for event evt-big as over its max_msg_size: it never stores such a message',
  });
});
