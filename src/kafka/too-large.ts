/**
 * Whether Kafka refused a message as larger than the topic or broker takes (MESSAGE_TOO_LARGE, in any
 * of the errors `@platformatic/kafka` nests: a ResponseError's `errors`, a `cause`). A refusal for
 * good: sending it again never helps.
 * @internal
 */
export function refusedAsTooLarge(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { apiId, errors, cause } = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (apiId === "MESSAGE_TOO_LARGE") return true;
  if (Array.isArray(errors) && errors.some(refusedAsTooLarge)) return true;
  return cause !== undefined && cause !== error && refusedAsTooLarge(cause);
}

/**
 * Which limit a message sent alone and refused with MESSAGE_TOO_LARGE is over, for error messages.
 * Kafka compares each record batch with the topic's `max.message.bytes`, which is the broker's
 * `message.max.bytes` unless the topic sets its own; its answer is the bare code, without the limit
 * (`@platformatic/kafka` drops the error message of newer Produce versions too), so the message can only
 * name the setting. The producer's own limits were already passed: `maxMessageBytes` is checked before
 * sending, and a request of up to `maxRequestBytes` refused as a whole is sent again one message at a time.
 * @internal
 */
export function kafkaLimitRefusal(topic: string, maxMessageBytes: number): string {
  return (
    `refused by Kafka as too large (MESSAGE_TOO_LARGE) for topic ${JSON.stringify(topic)}: over the topic's ` +
    "max.message.bytes (the broker's message.max.bytes unless the topic sets its own; Kafka does not say " +
    `the limit), though within this producer's maxMessageBytes (${maxMessageBytes})`
  );
}

/**
 * The size of the uncompressed record batch holding only this message, as Kafka compares it with
 * `max.message.bytes`: the 61 bytes of the batch header, then the record.
 * @internal
 */
export function singleRecordBatchBytes(message: RecordFields): number {
  return RECORD_BATCH_OVERHEAD + recordBytes(recordFieldBytes(message), 0);
}

/** What a record carries. */
interface RecordFields {
  key: Buffer;
  value: Buffer;
  headers: ReadonlyMap<Buffer, Buffer>;
}

/** Bytes of a record's key, value and headers as a record batch holds them, each after its varint length. @internal */
export function recordFieldBytes(message: RecordFields): number {
  const bytes = (data: Buffer) => varintBytes(data.length) + data.length;
  let fields = bytes(message.key) + bytes(message.value) + varintBytes(message.headers.size);
  for (const [key, value] of message.headers) fields += bytes(key) + bytes(value);
  return fields;
}

/**
 * Bytes of a record in a record batch: its varint length, then attributes, a timestamp delta of 0 (the
 * client stamps the messages of one send alike), the offset delta (its place in the batch), then its
 * key, value and headers (`recordFieldBytes`).
 * @internal
 */
export function recordBytes(fieldBytes: number, offsetDelta: number): number {
  const record = 2 + varintBytes(offsetDelta) + fieldBytes;
  return varintBytes(record) + record;
}

/** Bytes of a record batch before its records (DefaultRecordBatch.RECORD_BATCH_OVERHEAD in Kafka). @internal */
export const RECORD_BATCH_OVERHEAD = 61;

/** Bytes of `n` (non-negative) as a zigzag varint, as record fields are written. */
function varintBytes(n: number): number {
  let zigzag = n * 2;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80);
    bytes++;
  }
  return bytes;
}
