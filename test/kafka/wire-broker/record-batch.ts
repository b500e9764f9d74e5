/**
 * Record batches (magic 2), as a produce request carries them and a fetch response returns them:
 * the batch is kept as the bytes the producer sent, with the broker's base offset and leader epoch
 * written in (neither is covered by the CRC). Uncompressed and gzip batches are also read into
 * records, so a test can look at keys, values and headers on the broker side.
 */
import { gunzipSync } from "node:zlib";
import { Reader } from "./codec.js";

/** One record of a batch, as stored. */
export interface StoredRecord {
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly (readonly [string, Buffer | null])[];
}

/** A record batch of a partition's log. */
export interface RecordBatch {
  readonly baseOffset: bigint;
  /** Offset of its last record. */
  readonly lastOffset: bigint;
  readonly maxTimestamp: bigint;
  /** The batch on the wire, base offset included. */
  readonly bytes: Buffer;
  /** Its records; empty for a compression the stand-in does not read (snappy, lz4, zstd). */
  readonly records: readonly StoredRecord[];
}

/** Bytes before the CRC-covered part: baseOffset, batchLength, partitionLeaderEpoch, magic, crc. */
const CRC_START = 21;
/** Fixed header size of a v2 batch, through the record count. */
const HEADER_BYTES = 61;
const COMPRESSION_MASK = 0b111;
const GZIP = 1;

/** Why a produce request's records are refused. */
export class CorruptBatchError extends Error {
  override name = "CorruptBatchError";
}

/** Splits a RECORDS field into its batches (copies, so the log owns its bytes). */
export function splitBatches(records: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < HEADER_BYTES) throw new CorruptBatchError("truncated record batch");
    const size = 12 + records.readInt32BE(at + 8);
    if (at + size > records.length) throw new CorruptBatchError("record batch longer than its records");
    const batch = Buffer.from(records.subarray(at, at + size));
    if (batch.readInt8(16) !== 2) throw new CorruptBatchError(`record batch magic ${batch.readInt8(16)}`);
    if (crc32c(batch.subarray(CRC_START)) !== batch.readUInt32BE(17))
      throw new CorruptBatchError("record batch CRC mismatch");
    batches.push(batch);
    at += size;
  }
  return batches;
}

/** The number of records the batch declares (lastOffsetDelta + 1). */
export function recordCount(batch: Buffer): number {
  return batch.readInt32BE(23) + 1;
}

/** Places a batch at `baseOffset` of a log led in `leaderEpoch`, and reads its records. */
export function placeBatch(batch: Buffer, baseOffset: bigint, leaderEpoch: number): RecordBatch {
  batch.writeBigInt64BE(baseOffset, 0);
  batch.writeInt32BE(leaderEpoch, 12);
  return {
    baseOffset,
    lastOffset: baseOffset + BigInt(batch.readInt32BE(23)),
    maxTimestamp: batch.readBigInt64BE(35),
    bytes: batch,
    records: readRecords(batch, baseOffset),
  };
}

function readRecords(batch: Buffer, baseOffset: bigint): StoredRecord[] {
  const compression = batch.readInt16BE(21) & COMPRESSION_MASK;
  const firstTimestamp = batch.readBigInt64BE(27);
  const count = batch.readInt32BE(57);
  const body = batch.subarray(HEADER_BYTES);
  if (compression !== 0 && compression !== GZIP) return [];
  const reader = new Reader(compression === GZIP ? gunzipSync(body) : body);
  const records: StoredRecord[] = [];
  for (let i = 0; i < count; i++) {
    reader.varInt(); // record length
    reader.int8(); // attributes
    const timestamp = firstTimestamp + reader.varLong();
    const offset = baseOffset + BigInt(reader.varInt());
    const key = varBytes(reader);
    const value = varBytes(reader);
    const headers: [string, Buffer | null][] = [];
    const headerCount = reader.varInt();
    for (let h = 0; h < headerCount; h++)
      headers.push([varBytes(reader)?.toString("utf8") ?? "", varBytes(reader)]);
    records.push({ offset, timestamp, key, value, headers });
  }
  return records;
}

function varBytes(reader: Reader): Buffer | null {
  const length = reader.varInt();
  return length < 0 ? null : reader.bytesOf(length);
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum of record batches v2. */
export function crc32c(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
