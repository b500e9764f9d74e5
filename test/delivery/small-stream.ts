/**
 * A broker emitter on a NATS stream that takes messages of 1500 bytes at most, given three events:
 * two small ones (SAMPLE_IDS.authn, SAMPLE_IDS.authz) and, between them, "evt-big", which the stream
 * refuses for good as too large. For the tests of what flush and close report of such a drop.
 *
 * The broker is made before the stream gets its small max_msg_size: it reads none at connect, so emit
 * accepts "evt-big" and the stream refuses it on write (the path of a stream changed after connect).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";

/** Makes `stream` (capturing `<prefix>.>`) and an emitter on `<prefix>.events`, and emits the three events. */
export async function emitterWithOneTooLarge(nc: NatsConnection, stream: string, prefix: string) {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  const broker = await createNatsBroker({ connection: nc, stream });
  await jsm.streams.update(stream, { max_msg_size: 1500 });
  const emitter = createBrokerEmitter({ broker, topic: `${prefix}.events` });
  emitter.emit(sampleEvent({ kind: "authn" }));
  emitter.emit(sampleEvent({ eventId: "evt-big", operation: `/acme.Big/${"x".repeat(4000)}` }));
  emitter.emit(sampleEvent({ kind: "authz" }));
  return emitter;
}
