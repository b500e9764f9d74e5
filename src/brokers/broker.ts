/** One message to publish: the routing key, the encoded event and its headers. */
export interface BrokerMessage {
  /** Partition / subject key; by default the event id. */
  key: string;
  /** The encoded event: protobuf binary by default, or proto3 JSON (the broker sink's `encoding`). */
  value: Uint8Array;
  /**
   * Header names and values: content type, event id, event kind, schema version and service (see
   * `BROKER_HEADER`), and the CloudEvents attributes when the sink adds them.
   */
  headers: Readonly<Record<string, string>>;
}

/**
 * A message broker client reduced to what audit delivery needs. Adapters: Kafka (`grpc-audit/kafka`)
 * and NATS JetStream (`grpc-audit/nats`).
 */
export interface Broker {
  /** Names the broker in stats and errors, such as "kafka" or "nats". */
  readonly name: string;
  /**
   * Publishes the messages to `topic` (a Kafka topic, a JetStream subject) and resolves only when the
   * broker acknowledged every one of them; rejects otherwise (the caller retries the batch). When it
   * acknowledged some of them, reject with an AuditPartialDeliveryError naming their event ids (the
   * `grpc-audit-event-id` header): the broker emitter counts those delivered and retries only the rest.
   */
  publish(
    topic: string,
    messages: readonly BrokerMessage[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Largest message the broker accepts, in bytes (payload and headers), when known. */
  readonly maxMessageBytes?: number;
  /**
   * Prefix of CloudEvents binary-mode headers in this broker's protocol binding: "ce_" for Kafka,
   * "ce-" for NATS (and HTTP). The broker sink uses it unless told otherwise. Default: "ce_".
   */
  readonly cloudEventsHeaderPrefix?: "ce_" | "ce-";
  /**
   * True when the broker takes a `publish` call before the earlier ones settled and still sends the
   * messages in the order of the calls (the NATS adapter does). The broker emitter then writes several
   * batches at once by default (4, `delivery.maxInFlightBatches`), else one at a time.
   */
  readonly publishesInCallOrder?: boolean;
  /** Closes the connection after in-flight publishes settle. */
  close(): Promise<void>;
}
