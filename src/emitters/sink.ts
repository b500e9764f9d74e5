import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * One event of a batch as the delivery pipeline holds it: its protobuf bytes, and the decoded event on
 * demand. A sink that sends protobuf on (a broker) takes the bytes as they are; one that needs the
 * fields reads `event`, which is decoded on first access and then kept.
 */
export interface EncodedEvent {
  /**
   * The event as `grpcaudit.v1.AuditEvent` protobuf binary, as `encodeEvent` writes it. It belongs to
   * the batch and stays unchanged while the batch is written and retried; do not modify it.
   */
  readonly bytes: Uint8Array;
  /** The decoded event (`decodeEvent(bytes)`), decoded on first access. */
  readonly event: AuditEvent;
}

/** Options of one sink write. */
export interface SinkWriteOptions {
  /**
   * Aborted when the write timed out (`writeTimeoutMs`) or the pipeline was closed: stop waiting.
   * Default: none (nothing aborts the write).
   */
  signal?: AbortSignal;
}

/**
 * Where a delivery pipeline writes batches: a broker topic, a database, a file. A sink only writes;
 * queueing, batching, retry, overflow and spooling are the pipeline's job (`createDeliveryEmitter`).
 *
 * The pipeline writes one batch at a time unless its `maxInFlightBatches` option allows more; then
 * `write` (or `writeEncoded`) is called again before earlier writes settled, in sequence order, and
 * the sink should send the batches in the order of the calls.
 */
export interface EventSink {
  /** Names the sink in stats and errors. */
  readonly name: string;
  /**
   * Writes one batch and resolves only once the sink has durably taken all of it (for a broker: the
   * broker acknowledged it). Rejects when any of it may not have been taken; the pipeline then retries
   * the whole batch, so consumers must de-duplicate by event id (delivery is at-least-once). Rejects
   * with an AuditEventTooLargeError naming the events it can never take: the pipeline drops them
   * ("too_large"), reports them with that error's message (say which limit; keep event contents and
   * credentials out of it) and writes the rest at once; with an AuditEventRefusedError naming events it
   * can never take for another reason, the same, as "refused". Rejects with an AuditPartialDeliveryError
   * naming the events it did take when it took only part of the batch: the pipeline counts those
   * delivered, once, and retries only the rest.
   */
  write(batch: readonly AuditEvent[], options?: SinkWriteOptions): Promise<void>;
  /**
   * Optional: the same as `write`, given the events as the pipeline holds them, encoded. When the sink
   * has it, the pipeline calls it instead of `write`, so a sink that sends protobuf does not decode and
   * encode every event again. Same contract as `write`: resolve once all of the batch was taken.
   */
  writeEncoded?(batch: readonly EncodedEvent[], options?: SinkWriteOptions): Promise<void>;
  /**
   * Largest encoded event the sink can take, in bytes, if it has a limit (a broker's message size).
   * Larger events are refused by the pipeline with a counted reason instead of being retried forever.
   */
  readonly maxEventBytes?: number;
  /**
   * Optional: false when the sink can never take this event although it is within `maxEventBytes`
   * (`encodedBytes` is its protobuf size): a broker message whose headers (the service name, the event
   * id) take it over the broker's limit. The pipeline then refuses it at `emit` as "too_large" instead
   * of retrying a batch that can never be written. Called on every emit: keep it cheap.
   */
  acceptsEvent?(event: AuditEvent, encodedBytes: number): boolean;
  /** Releases connections; called once by the pipeline's close(). */
  close?(): Promise<void>;
}
