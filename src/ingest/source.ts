import type { EventColumns } from "../event/event-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/** One message a source delivered: the encoded event and its headers, as the broker emitter wrote them. */
export interface SourceMessage {
  /** The message value: the event as protobuf binary or proto3 JSON (see the content-type header). */
  readonly data: Uint8Array;
  /** A header's value, or undefined when the message has none of that name. */
  header(name: string): string | undefined;
  /** Where the message is in the broker, for errors and dead letters, such as "AUDIT seq 17". */
  readonly where: string;
}

/**
 * Where an ingester pulls events from: a broker's consumer shared by any number of ingesters (the
 * NATS adapter's `createNatsSource`). Messages fetched and not acknowledged come back to some
 * ingester later, so a crash between insert and ack gives a duplicate, which the store ignores.
 */
export interface IngestSource<M extends SourceMessage = SourceMessage> {
  /** Names the source in errors, such as "nats AUDIT/ingest". */
  readonly name: string;
  /**
   * Resolves to up to `max` messages, once `max` are there, `maxWaitMs` passed or `signal` aborted
   * (then with those received so far); to none when nothing came. A source whose broker would strand
   * what it already sent into a cut fetch may let the fetch run to its end on abort (NATS does while
   * connected: at most `maxWaitMs`, plus a few seconds when the server's end of the fetch never comes).
   */
  fetch(max: number, maxWaitMs: number, signal: AbortSignal): Promise<M[]>;
  /** Acknowledges messages whose events are committed; resolves once the broker confirmed. */
  ack(messages: readonly M[]): Promise<void>;
  /** Hands messages back for redelivery (their insert failed). */
  retry(messages: readonly M[]): Promise<void>;
  /**
   * Publishes an undecodable message with `reason` to the dead-letter subject or topic, then
   * acknowledges it. Resolves to "duplicate" when the broker already held this dead letter (the
   * message was dead-lettered before: redelivered before its ack arrived, or read again by another
   * consumer), which the ingester counts as a duplicate; a source that cannot tell resolves to nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: void, so that a source written as `async deadLetter() {…}` (Kafka's) still fits.
  deadLetter(message: M, reason: string): Promise<void | "duplicate">;
  /** Messages waiting for the consumer after the last fetch, when the broker says; else undefined. */
  lag(): number | undefined;
  /** Messages the broker removed before this source delivered them (retention limits, deletions), counted since it opened; absent when the source cannot tell. */
  lost?(): number;
}

/**
 * What an ingester needs of a store: the SQLite store and the PostgreSQL store both fit. An insert
 * that rejects for some rows no retry can store (a SQLSTATE of class 22 or 54, or an error with
 * `refusesRows: true`) stores nothing; the ingester then finds those rows by inserting in halves.
 */
export interface IngestStore {
  /**
   * Stores events, skipping those already stored (same id); returns or resolves to how many were new.
   * A batch holds an id twice only for two different events (other bytes), which the built-in stores
   * refuse as they refuse another event under a stored id: the ingester then dead-letters the second.
   */
  insert(events: readonly AuditEvent[]): number | Promise<number>;
  /**
   * Optional: the same as `insert`, given the batch as the stored columns and each event's protobuf
   * bytes (those the broker carried), which the ingester reads without decoding whole events. The
   * ingester calls it instead of `insert` when the store has it (both stores do: the bytes are kept
   * as the broker carried them, fields of a newer schema included).
   * @internal
   */
  insertColumns?(batch: EventColumns): number | Promise<number>;
  /**
   * Optional, with `insertColumns`: the work on a batch the store can do before the batch's turn to
   * be inserted (the PostgreSQL store encodes its COPY data). The ingester calls it as soon as a batch
   * is read, while the batch before is being inserted, and changes the batch no more.
   * @internal
   */
  prepareColumns?(batch: EventColumns): void;
}
