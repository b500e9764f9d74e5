/**
 * A stream that refuses a publish (full with discard-new, sealed) answers with an error that does not
 * name it: the broker's error names the stream, so an operator with many streams knows which one.
 */
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

it("names the full stream (max_msgs, discard new) that refused a publish", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "FULL", subjects: ["full.>"], max_msgs: 1, discard: DiscardPolicy.New });
  const broker = await createNatsBroker({ connection: nc(), stream: "FULL" });
  const error = await createBrokerSink({ broker, topic: "full.events" })
    .write(sampleEvents().slice(0, 2))
    .catch((e: unknown) => e);

  expect(error).toBeInstanceOf(AuditEmitError);
  expect((error as Error).message).toBe(
    'nats: publish to "full.events" failed after 1 of 2 acknowledgements: stream "FULL" refused it: ' +
      "maximum messages exceeded",
  );
});

it("names the subject's stream when the broker was given none, for a sealed stream", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "SEALED", subjects: ["sealed.>"] });
  const info = await jsm.streams.info("SEALED");
  // The client's update type leaves `sealed` out; the server takes it.
  const sealed = { ...info.config, sealed: true };
  await jsm.streams.update("SEALED", sealed);
  const broker = await createNatsBroker({ connection: nc() });
  const error = await createBrokerSink({ broker, topic: "sealed.events" })
    .write([sampleEvent()])
    .catch((e: unknown) => e);

  expect((error as Error).message).toBe(
    'nats: publish to "sealed.events" failed after 0 of 1 acknowledgements: the stream capturing ' +
      '"sealed.events" refused it: invalid operation on sealed stream',
  );
});

it("says another stream stores the subject when the broker's stream is not the one capturing it", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "OTHER", subjects: ["moved.>"] });
  const broker = await createNatsBroker({ connection: nc(), stream: "AUDIT_GONE" });
  const error = await createBrokerSink({ broker, topic: "moved.events" })
    .write([sampleEvent()])
    .catch((e: unknown) => e);

  expect((error as Error).message).toBe(
    'nats: publish to "moved.events" failed after 0 of 1 acknowledgements: another stream than "AUDIT_GONE" ' +
      'stores "moved.events" (was "AUDIT_GONE" deleted, or its subjects moved to another stream? see ' +
      "ensureAuditStream): expected stream does not match",
  );
});
