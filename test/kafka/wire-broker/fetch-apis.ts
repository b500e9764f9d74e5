/**
 * Fetch (v12, flexible; topics by name) and ListOffsets (v5, classic encoding). A fetch with nothing
 * to return waits up to its max wait for an append to one of its partitions (long polling). A fetch
 * offset below the log start or past the high watermark is OFFSET_OUT_OF_RANGE, as in Kafka.
 */
import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { ErrorCode } from "./error-codes.js";
import { LEADER_EPOCH, type PartitionLog } from "./partition-log.js";

interface FetchPartition {
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
}

/** Fetch v12. Resolves once the response is written. */
export async function fetch(state: BrokerState, request: Reader, response: Writer): Promise<void> {
  request.int32(); // replica id
  const maxWaitMs = request.int32();
  request.int32(); // min bytes: any data answers at once
  request.int32(); // max bytes
  request.int8(); // isolation level: no transactions, so every offset below the high watermark is stable
  request.int32(); // session id: sessions are not kept, every fetch is a full one
  request.int32(); // session epoch
  const topics = request.array(true, (r) => {
    const topic = r.string(true);
    const partitions = r.array(true, (r) => {
      const partition = r.int32();
      r.int32(); // current leader epoch
      const fetchOffset = r.int64();
      r.int32(); // last fetched epoch
      r.int64(); // log start offset (of a follower)
      const maxBytes = r.int32();
      r.taggedFields();
      return { partition, fetchOffset, maxBytes };
    });
    r.taggedFields();
    return { topic, partitions };
  });
  const logs = topics.flatMap((t) =>
    t.partitions.map((p) => state.partition(t.topic, p.partition)).filter((l) => l !== undefined),
  );
  const ready = () =>
    topics.some((t) =>
      t.partitions.some((p) => {
        const log = state.partition(t.topic, p.partition);
        return log === undefined || p.fetchOffset !== log.highWatermark;
      }),
    );
  if (!ready() && maxWaitMs > 0) await appendOrTimeout(logs, maxWaitMs, state.closing.signal);
  response
    .int32(0)
    .int16(0)
    .int32(0)
    .array(topics, (w, t) =>
      w
        .string(t.topic)
        .array(t.partitions, (w, p) => writePartition(w, state, state.partition(t.topic, p.partition), p)),
    )
    .taggedFields();
}

function writePartition(
  w: Writer,
  state: BrokerState,
  log: PartitionLog | undefined,
  p: FetchPartition,
): void {
  const errorCode =
    log === undefined
      ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      : p.fetchOffset < log.logStartOffset || p.fetchOffset > log.highWatermark
        ? ErrorCode.OFFSET_OUT_OF_RANGE
        : 0;
  if (errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) state.fetchesOutOfRange++;
  const records =
    errorCode === 0 && log !== undefined ? Buffer.concat(log.read(p.fetchOffset, p.maxBytes)) : null;
  w.int32(p.partition)
    .int16(errorCode)
    .int64(log?.highWatermark ?? -1n)
    .int64(log?.highWatermark ?? -1n) // last stable offset
    .int64(log?.logStartOffset ?? -1n)
    .array([], () => {}) // aborted transactions
    .int32(-1) // preferred read replica
    .bytes(records);
}

function appendOrTimeout(logs: readonly PartitionLog[], waitMs: number, closing: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const stop of stops) stop();
      closing.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    const stops = logs.map((log) => log.onAppend(done));
    closing.addEventListener("abort", done);
    if (closing.aborted) done();
  });
}

/** Timestamps ListOffsets understands beside real ones. */
const LATEST = -1n;
const EARLIEST = -2n;

/** ListOffsets v5: the log start (EARLIEST), the high watermark (LATEST), or the offset for a time. */
export function listOffsets(state: BrokerState, request: Reader, response: Writer): void {
  request.int32(); // replica id
  request.int8(); // isolation level
  const topics = request.array(false, (r) => ({
    name: r.string(false),
    partitions: r.array(false, (r) => {
      const index = r.int32();
      r.int32(); // current leader epoch
      return { index, timestamp: r.int64() };
    }),
  }));
  response.int32(0).array(
    topics,
    (w, t) =>
      w.string(t.name).array(
        t.partitions,
        (w, p) => {
          const log = state.partition(t.name, p.index);
          const offset =
            log === undefined
              ? -1n
              : p.timestamp === EARLIEST
                ? log.logStartOffset
                : p.timestamp === LATEST
                  ? log.highWatermark
                  : log.offsetForTime(p.timestamp);
          w.int32(p.index)
            .int16(log === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0)
            .int64(-1n)
            .int64(offset)
            .int32(LEADER_EPOCH);
        },
        false,
      ),
    false,
  );
}
