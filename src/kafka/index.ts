/**
 * Kafka (`grpc-audit/kafka`): a Broker that sends audit events through an idempotent `@platformatic/kafka`
 * producer with acknowledgements from all in-sync replicas, and `createKafkaSource`, the consumer-group
 * member ingesters read the events back with (`grpc-audit/ingest`). It is not a Kafka client wrapper for
 * other uses: `@platformatic/kafka` 1.x (the line that runs on Node 20) is an optional peer dependency,
 * and the core package never imports this module.
 */
export {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
export type { IngestSource, SourceMessage } from "../ingest/source.js";
export {
  createKafkaBroker,
  type KafkaBroker,
  type KafkaBrokerOptions,
  type KafkaCompression,
  type KafkaProducer,
} from "./kafka-broker.js";
export { createKafkaSource, type KafkaSource } from "./kafka-source.js";
export type { KafkaSourceMessage } from "./kafka-source-message.js";
export type { KafkaSourceOptions } from "./kafka-source-options.js";
export type { KafkaConsumer, KafkaMessage, KafkaMessageStream, KafkaStreamEvent } from "./message-stream.js";
