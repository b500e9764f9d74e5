// The Kafka source's messages: a Kafka message as ingesters read it, and the dead letters sent from one.
import {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
import type { SourceMessage } from "../ingest/source.js";
import type { KafkaMessage } from "./message-stream.js";

/** A message of the Kafka source. */
export interface KafkaSourceMessage extends SourceMessage {
  /** The Kafka message. */
  readonly message: KafkaMessage;
}

const EMPTY = new Uint8Array(0);

/** The source message handed out for a Kafka message. @internal */
export function sourceMessage(message: KafkaMessage): KafkaSourceMessage {
  return {
    message,
    // A record with a null value (a tombstone) comes without one: poison, like any other non-event.
    data: message.value ?? EMPTY,
    where: `${message.topic}/${message.partition}@${message.offset}`,
    header: (name) => {
      // A header may have a null value (the client gives undefined): as if absent.
      for (const [key, value] of message.headers)
        if (key.toString("utf8") === name && value != null) return value.toString("utf8");
      return undefined;
    },
  };
}

/**
 * A dead letter with only its reason, origin and the original value's size (`DEAD_LETTER_TRUNCATED_HEADER`).
 * @internal
 */
export function cutDeadLetter(topic: string, message: KafkaSourceMessage, reason: string) {
  const headers = new Map<Buffer, Buffer>([
    [Buffer.from(DEAD_LETTER_REASON_HEADER), Buffer.from(reason.replace(/[\r\n]+/g, " "))],
    [Buffer.from(DEAD_LETTER_FROM_HEADER), Buffer.from(message.where)],
    [Buffer.from(DEAD_LETTER_TRUNCATED_HEADER), Buffer.from(String(message.message.value?.length ?? 0))],
  ]);
  return { topic, value: Buffer.alloc(0), headers };
}

/** The message as it was (key, value, headers), with why and where from. @internal */
export function deadLetter(topic: string, message: KafkaSourceMessage, reason: string) {
  // Header keys are Buffers (a Map compares them by identity): drop the message's own dead-letter
  // headers by name, so this dead letter's reason and origin are the only ones.
  const ours = new Set([DEAD_LETTER_REASON_HEADER, DEAD_LETTER_FROM_HEADER]);
  const headers = new Map([...message.message.headers].filter(([key]) => !ours.has(key.toString("utf8"))));
  headers.set(Buffer.from(DEAD_LETTER_REASON_HEADER), Buffer.from(reason.replace(/[\r\n]+/g, " ")));
  headers.set(Buffer.from(DEAD_LETTER_FROM_HEADER), Buffer.from(message.where));
  return { topic, key: message.message.key, value: message.message.value, headers };
}
