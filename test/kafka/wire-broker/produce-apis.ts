/**
 * Produce (v7, classic encoding) and InitProducerId (v3): appends record batches to partition logs.
 * Sequence numbers of idempotent producers are not checked (one broker that never fails over, so the
 * client never has to resend a batch the broker already has).
 */

import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { ErrorCode } from "./error-codes.js";
import { CorruptBatchError, splitBatches } from "./record-batch.js";

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logStartOffset: bigint;
}

/** Produce v7. Returns false for acks = 0 (no response is sent). */
export function produce(state: BrokerState, request: Reader, response: Writer): boolean {
  request.nullableString(false); // transactional id: transactions are not supported
  const acks = request.int16();
  request.int32(); // timeout
  const topics = request.array(false, (r) => ({
    name: r.string(false),
    partitions: r.array(false, (r) => ({ index: r.int32(), records: r.nullableBytes(false) })),
  }));
  const results = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => append(state, t.name, p.index, p.records)),
  }));
  response
    .array(
      results,
      (w, t) =>
        w
          .string(t.name)
          .array(
            t.partitions,
            (w, p) =>
              w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(-1n).int64(p.logStartOffset),
            false,
          ),
      false,
    )
    .int32(0);
  return acks !== 0;
}

function append(
  state: BrokerState,
  topicName: string,
  index: number,
  records: Buffer | null,
): PartitionResult {
  const topic = state.topics.get(topicName);
  const log = topic?.partitions[index];
  const failed = (errorCode: number) => ({ index, errorCode, baseOffset: -1n, logStartOffset: -1n });
  if (topic === undefined || log === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  let batches: Buffer[];
  try {
    batches = splitBatches(records ?? Buffer.alloc(0));
  } catch (error) {
    if (error instanceof CorruptBatchError) return failed(ErrorCode.CORRUPT_MESSAGE);
    throw error;
  }
  // Kafka compares each record batch with the topic's max.message.bytes; nothing of the request's
  // batches for this partition is appended when one is over.
  if (batches.some((b) => b.length > topic.maxMessageBytes)) return failed(ErrorCode.MESSAGE_TOO_LARGE);
  return { index, errorCode: 0, baseOffset: log.append(batches), logStartOffset: log.logStartOffset };
}

/** InitProducerId v3 (flexible): a new producer id, epoch 0. */
export function initProducerId(state: BrokerState, request: Reader, response: Writer): void {
  request.nullableString(true); // transactional id
  response.int32(0).int16(0).int64(state.nextProducerId()).int16(0).taggedFields();
}
