import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import type { BrokerEncoding } from "../../src/brokers/event-headers.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import type { WireBroker } from "./wire-broker/index.js";

/** Publishes `events` to `topic` of the wire stand-in through createKafkaBroker (the real Producer), as servers do. */
export async function publishToWire(
  kafka: WireBroker,
  topic: string,
  events: readonly AuditEvent[],
  encoding: BrokerEncoding = "protobuf",
): Promise<void> {
  const broker = createKafkaBroker({ bootstrapBrokers: kafka.bootstrapBrokers, clientId: "projects-api" });
  await createBrokerSink({ broker, topic, encoding }).write(events);
  await broker.close();
}
