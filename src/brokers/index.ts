/**
 * Brokers: the Broker interface, the broker sink that turns audit events into broker messages
 * (encoding, key, headers), and the broker emitter: the delivery pipeline over that sink. It is not a
 * broker client: the Kafka and NATS JetStream adapters live in their own subpath exports
 * (`grpc-audit/kafka`, `grpc-audit/nats`) so the core never loads a broker client.
 */
export type { Broker, BrokerMessage } from "./broker.js";
export { type BrokerEmitterOptions, createBrokerEmitter } from "./broker-emitter.js";
export type { BrokerSinkOptions } from "./broker-sink.js";
export {
  BROKER_CONTENT_TYPE,
  BROKER_HEADER,
  type BrokerEncoding,
  CLOUDEVENTS_TYPE_PREFIX,
  type CloudEventsHeaderPrefix,
} from "./event-headers.js";
