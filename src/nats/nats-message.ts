import { type MsgHdrs, MsgHdrsImpl } from "@nats-io/transport-node";
import type { BrokerMessage } from "../brokers/broker.js";
import { BROKER_HEADER } from "../brokers/event-headers.js";
import { AuditEmitError, AuditEventTooLargeError } from "../errors/index.js";

/** A broker message ready for `js.publish`: its message id, value and NATS headers. @internal */
export interface PreparedMessage {
  /** The JetStream message id: the event id (the key when the message has none). */
  readonly id: string;
  readonly value: Uint8Array;
  readonly headers: MsgHdrs;
  /** At least the size the server checks against max_payload; exact when that is over the limit. */
  readonly bytes: number;
}

/**
 * Turns a broker message into what `js.publish` takes, and sizes it against the server's `limit`.
 * Throws an AuditEmitError for a header the protocol cannot carry (a name that is not printable ASCII
 * or holds a colon, a value with a line break), as the client's own checks would.
 * @internal
 */
export function prepareMessage(
  name: string,
  message: BrokerMessage,
  stream: string | undefined,
  limit: number | undefined,
): PreparedMessage {
  const id = message.headers[BROKER_HEADER.EVENT_ID] ?? message.key;
  const headers = natsHeaders(name, id, message.headers);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: the bound from string lengths settles almost every
  // message without encoding a header.
  let bytes = messageBytes(message, id, stream, utf8Bound);
  if (limit !== undefined && bytes > limit) bytes = messageBytes(message, id, stream, utf8Bytes);
  return { id, value: message.value, headers, bytes };
}

/** The error for a message larger than the server's max_payload. @internal */
export function tooLarge(name: string, message: PreparedMessage, limit: number): AuditEventTooLargeError {
  return new AuditEventTooLargeError(
    name,
    `message for event ${message.id} is ${message.bytes} bytes with headers, over the server's max_payload ` +
      `of ${limit} bytes; NATS never accepts it, so nothing of this batch was published`,
    { eventIds: [message.id] },
  );
}

/** What the client accepts as a header name: printable ASCII but the colon. */
const HEADER_NAME = /^[!-9;-~]+$/;
const LINE_BREAK = /[\r\n]/;
/** Header names already checked: they repeat on every message (bounded, in case they do not). */
const checkedNames = new Set<string>();
const MAX_CHECKED_NAMES = 256;

/**
 * The NATS header block of a message, built from a record: the same headers `headers()` and `append`
 * give (names as they are, values trimmed), without the client recomputing and searching the names
 * for every header of every message, which took more time than everything else the broker does.
 */
function natsHeaders(name: string, id: string, headers: Readonly<Record<string, string>>): MsgHdrs {
  const record: Record<string, string[]> = {};
  for (const key in headers) {
    const value = headers[key] ?? "";
    if (!checkedNames.has(key)) {
      if (!HEADER_NAME.test(key))
        throw new AuditEmitError(
          name,
          `message for event ${id}: header name ${JSON.stringify(key)} is not valid in NATS`,
        );
      if (checkedNames.size < MAX_CHECKED_NAMES) checkedNames.add(key);
    }
    if (LINE_BREAK.test(value))
      throw new AuditEmitError(
        name,
        `message for event ${id}: header ${key} holds a line break, which NATS cannot carry`,
      );
    record[key] = [value.trim()];
  }
  return MsgHdrsImpl.fromRecord(record);
}

/** "NATS/1.0\r\n" before the header lines and "\r\n" after them. */
const NATS_HEADER_LINE = "NATS/1.0\r\n".length + "\r\n".length;

const utf8Bound = (text: string): number => 3 * text.length;
const utf8Bytes = (text: string): number => Buffer.byteLength(text);

/**
 * The size the server checks: payload plus the encoded header block, with the Nats-Msg-Id and
 * Nats-Expected-Stream headers the client adds; each header line is "key: value\r\n".
 */
function messageBytes(
  message: BrokerMessage,
  id: string,
  stream: string | undefined,
  size: (text: string) => number,
): number {
  let bytes = message.value.byteLength + NATS_HEADER_LINE + size("Nats-Msg-Id") + size(id) + 4;
  if (stream !== undefined) bytes += size("Nats-Expected-Stream") + size(stream) + 4;
  // The client sends values trimmed, as natsHeaders stores them.
  for (const key in message.headers) bytes += size(key) + size((message.headers[key] ?? "").trim()) + 4;
  return bytes;
}
