/**
 * Produce (v7, classic encoding) and InitProducerId (v3): appends record batches to partition logs.
 * Sequence numbers of idempotent producers are checked as Kafka does: a request that repeats one of a
 * producer's last 5 batches on a partition is answered with that batch's offset and not appended
 * again, and one that does not continue the producer's sequence is OUT_OF_ORDER_SEQUENCE_NUMBER.
 */

import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { ErrorCode } from "./error-codes.js";
import type { PartitionLog } from "./partition-log.js";
import { CorruptBatchError, recordCount, splitBatches } from "./record-batch.js";

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logStartOffset: bigint;
}

/**
 * Produce v7. Returns false for acks = 0 (no response is sent). With `errorCode`, appends nothing and
 * answers every partition with it (a fault a test asked for).
 */
export function produce(state: BrokerState, request: Reader, response: Writer, errorCode?: number): boolean {
  request.nullableString(false); // transactional id: transactions are not supported
  const acks = request.int16();
  request.int32(); // timeout
  const topics = request.array(false, (r) => ({
    name: r.string(false),
    partitions: r.array(false, (r) => ({ index: r.int32(), records: r.nullableBytes(false) })),
  }));
  const results = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) =>
      errorCode === undefined
        ? append(state, t.name, p.index, p.records)
        : { index: p.index, errorCode, baseOffset: -1n, logStartOffset: -1n },
    ),
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
  const sequence = checkSequence(log, batches);
  if (sequence.kind === "duplicate")
    return { index, errorCode: 0, baseOffset: sequence.baseOffset, logStartOffset: log.logStartOffset };
  if (sequence.kind === "out-of-order") return failed(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const baseOffset = log.append(batches);
  sequence.appended?.(baseOffset);
  return { index, errorCode: 0, baseOffset, logStartOffset: log.logStartOffset };
}

/** A producer's sequence on one partition: its last 5 appended batches, newest last. */
interface ProducerSequence {
  readonly batches: { firstSequence: number; lastSequence: number; baseOffset: bigint }[];
}

/** Producer sequences by partition log, then by producer id. */
const SEQUENCES = new WeakMap<PartitionLog, Map<bigint, ProducerSequence>>();

/** How many of a producer's batches Kafka remembers per partition to answer a repeat. */
const REMEMBERED_BATCHES = 5;

type SequenceCheck =
  | { kind: "duplicate"; baseOffset: bigint }
  | { kind: "out-of-order" }
  | { kind: "next"; appended?: (baseOffset: bigint) => void };

/** Checks the batches of one produce request against their producer's sequence on the partition. */
function checkSequence(log: PartitionLog, batches: readonly Buffer[]): SequenceCheck {
  const first = batches[0];
  // Producer id -1: not idempotent, no sequence.
  if (first === undefined || first.readBigInt64BE(43) < 0n) return { kind: "next" };
  const producerId = first.readBigInt64BE(43);
  const firstSequence = first.readInt32BE(53);
  const lastSequence = firstSequence + batches.reduce((n, b) => n + recordCount(b), 0) - 1;
  const producers = SEQUENCES.get(log) ?? new Map<bigint, ProducerSequence>();
  SEQUENCES.set(log, producers);
  const known = producers.get(producerId) ?? { batches: [] };
  const repeat = known.batches.find(
    (b) => b.firstSequence === firstSequence && b.lastSequence === lastSequence,
  );
  if (repeat !== undefined) return { kind: "duplicate", baseOffset: repeat.baseOffset };
  const expected = (known.batches.at(-1)?.lastSequence ?? -1) + 1;
  if (firstSequence !== expected) return { kind: "out-of-order" };
  return {
    kind: "next",
    appended(baseOffset) {
      known.batches.push({ firstSequence, lastSequence, baseOffset });
      if (known.batches.length > REMEMBERED_BATCHES) known.batches.shift();
      producers.set(producerId, known);
    },
  };
}

/** InitProducerId v3 (flexible): a new producer id, epoch 0. */
export function initProducerId(state: BrokerState, request: Reader, response: Writer): void {
  request.nullableString(true); // transactional id
  response.int32(0).int16(0).int64(state.nextProducerId()).int16(0).taggedFields();
}
