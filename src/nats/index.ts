/**
 * NATS JetStream (`grpc-audit/nats`): a Broker that publishes audit events to a JetStream subject with
 * the event id as message id (server-side de-duplication) and waits for every PubAck, and a helper that
 * creates the stream; and `createNatsSource`, the durable pull consumer ingesters read the events back
 * from (`grpc-audit/ingest`). It is not a NATS client: the connection comes from `@nats-io/transport-node`, an
 * optional peer dependency with `@nats-io/jetstream`; the core package never imports this module.
 */

export {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
export type { IngestSource, SourceMessage } from "../ingest/source.js";
export { type AuditStreamOptions, type AuditStreamResult, ensureAuditStream } from "./audit-stream.js";
export { createNatsBroker, type NatsBroker, type NatsBrokerOptions } from "./nats-broker.js";
export {
  createNatsSource,
  type NatsSource,
  type NatsSourceMessage,
  type NatsSourceOptions,
} from "./nats-source.js";
