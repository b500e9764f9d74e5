/**
 * A stream full with discard-new stores the first messages of a batch and refuses the rest (review
 * R55: 10 of 25). The NATS broker's error names the events the stream acknowledged, and the broker
 * emitter counts exactly those delivered; only the others are retried, and dropped when close() gives
 * up on them. Before, the whole batch was retried and close() counted all 25 dropped, while the stream
 * held 10 of them.
 */
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { BROKER_HEADER, createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditPartialDeliveryError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { errorCollector, ids, numberedEvents } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "./stream-reader.js";

const nc = useNatsServer();

it("counts delivered exactly the events a full stream stored of a batch, and drops only the rest", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "AUDIT", subjects: ["audit.>"], max_msgs: 10, discard: DiscardPolicy.New });
  const broker = await createNatsBroker({ connection: nc(), stream: "AUDIT" });
  const { errors, onError } = errorCollector();
  const emitter = createBrokerEmitter({
    broker,
    topic: "audit.p",
    delivery: { maxBatchEvents: 25, closeTimeoutMs: 200, onError },
  });
  for (const event of numberedEvents(25)) emitter.emit(event);
  // The first write's failure is reported once the pipeline has handled it.
  await until(() => errors.length > 0);
  const closed = await emitter.close();

  const refusal = errors[0]?.cause;
  expect(refusal).toBeInstanceOf(AuditPartialDeliveryError);
  expect((refusal as Error).message).toBe(
    'nats: publish to "audit.p" failed after 10 of 25 acknowledgements: stream "AUDIT" refused it: ' +
      "maximum messages exceeded",
  );
  expect((refusal as AuditPartialDeliveryError).deliveredEventIds).toStrictEqual(ids(1, 10));
  expect(closed).toMatchObject({ delivered: 0, dropped: 15 });
  expect(emitter.stats()).toMatchObject({ emitted: 25, delivered: 10, dropped: { close_timeout: 15 } });
  const stored = await readStream(nc(), "AUDIT");
  expect(stored.map((message) => message.headers[BROKER_HEADER.EVENT_ID])).toStrictEqual(ids(1, 10));
});
