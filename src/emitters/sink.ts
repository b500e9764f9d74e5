import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * Where a delivery pipeline writes batches: a broker topic, a database, a file. A sink only writes;
 * queueing, batching, retry, overflow and spooling are the pipeline's job (`createDeliveryEmitter`).
 */
export interface EventSink {
  /** Names the sink in stats and errors. */
  readonly name: string;
  /**
   * Writes one batch and resolves only once the sink has durably taken all of it (for a broker: the
   * broker acknowledged it). Rejects when any of it may not have been taken; the pipeline then retries
   * the whole batch, so consumers must de-duplicate by event id (delivery is at-least-once).
   */
  write(batch: readonly AuditEvent[], options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Largest encoded event the sink can take, in bytes, if it has a limit (a broker's message size).
   * Larger events are refused by the pipeline with a counted reason instead of being retried forever.
   */
  readonly maxEventBytes?: number;
  /** Releases connections; called once by the pipeline's close(). */
  close?(): Promise<void>;
}
