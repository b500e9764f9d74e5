/**
 * Broker-to-store ingestion (`grpc-audit/ingest`): ingesters that pull the events servers published
 * to a broker, insert them in batches into a store many servers share (the PostgreSQL store) and
 * acknowledge them only once committed. The broker side is an `IngestSource`: `createNatsSource` of
 * `grpc-audit/nats` or `createKafkaSource` of `grpc-audit/kafka`.
 */
export { createIngester, type Ingester, type IngesterOptions, type IngestStats } from "./ingester.js";
export type { IngestSource, IngestStore, SourceMessage } from "./source.js";
