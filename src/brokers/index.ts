/**
 * Brokers: the Broker interface that the broker emitter publishes through. Adapters for Kafka and NATS
 * JetStream live in their own subpath exports so the core never loads a broker client.
 */
export type { Broker, BrokerMessage } from "./broker.js";
