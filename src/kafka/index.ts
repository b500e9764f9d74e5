/**
 * Kafka (`grpc-audit/kafka`): a Broker that sends audit events through an idempotent `@platformatic/kafka`
 * producer with acknowledgements from all in-sync replicas. It is not a Kafka client wrapper for other
 * uses: `@platformatic/kafka` 1.x (the line that runs on Node 20) is an optional peer dependency, and the
 * core package never imports this module.
 */
export {
  createKafkaBroker,
  type KafkaBroker,
  type KafkaBrokerOptions,
  type KafkaCompression,
  type KafkaProducer,
} from "./kafka-broker.js";
