import { BinaryReader } from "@bufbuild/protobuf/wire";
import { authzDecisionFromJSON, eventTypeFromJSON } from "../gen/grpcaudit/v1/event.js";
import { decisionName, type EventColumns, noNul } from "./event-columns.js";
import { eventKind } from "./kinds.js";
import { MAX_FIELD_BYTES, MAX_TRUNCATION_MARKER_BYTES } from "./limits.js";
import { unstorableTimeMs } from "./time.js";

/**
 * The wire-columns module: reads the stored columns of an encoded AuditEvent (`EventColumns`) straight
 * from its bytes, for an ingester that would otherwise decode every event whole only to read a dozen
 * fields. It accepts and refuses exactly what the generated `decodeEvent` does: it walks the whole
 * message the same way (the last occurrence of a field wins, a nested message replaces the earlier
 * one, a field with an unexpected wire type is skipped like an unknown one, an end-group tag or tag 0
 * ends a message, nested messages are walked field by field) and makes the same checks (varints of
 * at most 10 bytes where the schema has a varint, 64-bit integers within Number's safe range, no field
 * past the end). test/event/wire-columns.test.ts holds it to `decodeEvent` over generated, cut and
 * mutated events.
 */

/** A field the walk must read as its type, not skip: a varint (int32, uint32, enum, bool) or a 64-bit one. */
const VARINT = 0;
const INT64 = 1;
const UINT64 = 2;
/** The fields of a message that reading checks more than skipping does, by tag; a nested message by its own. */
interface Schema {
  readonly [tag: number]: typeof VARINT | typeof INT64 | typeof UINT64 | Schema;
}

// String fields are left out: reading one checks what skipping it does (its length within the bytes).
const TIMESTAMP: Schema = { 8: INT64, 16: VARINT }; // also Duration
const ACTOR: Schema = { 16: VARINT };
const TARGET: Schema = {};
const RESULT: Schema = { 8: VARINT };
const AUTHZ: Schema = { 32: VARINT, 40: VARINT };
const SUMMARY: Schema = { 10: TIMESTAMP, 18: { 32: UINT64 }, 24: UINT64 }; // since, its counts, overflow
/** AuditEvent, by tag (field number << 3 | wire type). */
const EVENT: Schema = {
  16: VARINT,
  24: VARINT,
  34: TIMESTAMP,
  58: ACTOR,
  66: TARGET,
  74: RESULT,
  114: TIMESTAMP,
  130: { 16: UINT64 }, // chain
  138: { 8: VARINT, 40: VARINT, 48: VARINT }, // payload
  146: {}, // an attributes entry
  162: { 16: VARINT, 24: VARINT }, // authn
  170: AUTHZ,
  178: { 10: { 8: VARINT, 40: VARINT, 58: {} } }, // tuple change: its tuples, each with its condition
  186: { 8: VARINT }, // resource mutation
  194: {}, // resource access
  202: { 8: UINT64, 40: VARINT }, // checkpoint
  210: SUMMARY,
};
/** Tags of the detail oneof's cases: the last one present is the event's detail. */
const DETAIL_FIRST = 162;
const DETAIL_LAST = 210;

/** The bytes being read, as a Buffer for its native UTF-8 decoding. */
let buffer = Buffer.alloc(0);

/**
 * A string field, as `reader.string()` reads it (the same bounds check, invalid UTF-8 replaced by
 * U+FFFD), 2–3 times faster: Buffer's native decoding where the reader runs TextDecoder on a
 * subarray for anything longer than 32 bytes (ids, method names).
 */
function text(reader: BinaryReader): string {
  const length = reader.uint32();
  const start = reader.pos;
  reader.pos += length;
  if (reader.pos > reader.len) throw new RangeError("premature EOF");
  return buffer.toString("utf8", start, reader.pos);
}

/** The row being read; written to the columns once the whole event is read. */
const row = {
  id: "",
  kind: "",
  time: undefined as number | undefined,
  /** A record summary's `since`, in ms as `readTime` gives it. */
  since: undefined as number | undefined,
  service: "",
  operation: "",
  actorId: "",
  targetType: "",
  targetId: "",
  success: false,
  code: "",
  decision: "",
  requestId: "",
  traceId: "",
};

/**
 * Most UTF-8 bytes an event of this library's Recorder holds in a text field the stores index (event
 * id, actor id, target type and id, request id, trace id): 287, the field limit and the truncation
 * marker. A longer one came from another producer: PostgreSQL refuses an index entry over 2704 bytes
 * (the whole batch with it), so an ingester refuses the event, whichever store it writes to.
 * @internal
 */
export const MAX_KEY_BYTES = MAX_FIELD_BYTES + MAX_TRUNCATION_MARKER_BYTES;

/**
 * Why an event with this id cannot be stored, or undefined: none, or one holding U+0000, which the
 * stores' id columns keep as U+FFFD (PostgreSQL text cannot hold it, see `noNul`): "evt\0x" would
 * take the key of "evt\uFFFDx", and the later of the two would be skipped as stored.
 * @internal
 */
export function eventIdProblem(eventId: string): string | undefined {
  if (eventId === "") return "the event has no eventId";
  if (eventId.includes("\0"))
    return "the event's eventId holds U+0000, which no store keeps apart from U+FFFD";
  return undefined;
}

/**
 * Why an event with these indexed text fields cannot be stored: the first one over `MAX_KEY_BYTES`
 * (named, its size given, never its text); undefined when all fit.
 * @internal
 */
export function oversizedKey(
  eventId: string,
  actorId: string,
  targetType: string,
  targetId: string,
  requestId: string,
  traceId: string,
): string | undefined {
  return (
    tooLong("eventId", eventId) ??
    tooLong("actor.id", actorId) ??
    tooLong("target.type", targetType) ??
    tooLong("target.id", targetId) ??
    tooLong("requestId", requestId) ??
    tooLong("traceId", traceId)
  );
}

function tooLong(field: string, text: string): string | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes: the usual ids need no count.
  if (text.length * 3 <= MAX_KEY_BYTES) return undefined;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= MAX_KEY_BYTES) return undefined;
  return (
    `the event's ${field} has ${bytes} UTF-8 bytes, over the ${MAX_KEY_BYTES} of an indexed field ` +
    "(an event of the Recorder has its text fields cut to fit)"
  );
}

/**
 * Reads the event in `bytes` into the next row of `columns` (keeping `bytes` as its bytes); returns
 * why it cannot be stored instead (the columns unchanged): a missing or unusable event id
 * (`eventIdProblem`), a missing time, a time no Date or no protobuf Timestamp holds
 * (`unstorableTimeMs`), an indexed field too
 * long (`oversizedKey`). Throws what `decodeEvent` throws for these bytes.
 * @internal
 */
export function readEventColumns(columns: EventColumns, bytes: Uint8Array): string | undefined {
  buffer = bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  readEvent(new BinaryReader(bytes));
  const idProblem = eventIdProblem(row.id);
  if (idProblem !== undefined) return idProblem;
  if (row.time === undefined) return "the event has no occurredAt";
  const invalid = unstorableTimeMs(row.time, row.since);
  if (invalid !== undefined) return invalid;
  const oversized = oversizedKey(
    row.id,
    row.actorId,
    row.targetType,
    row.targetId,
    row.requestId,
    row.traceId,
  );
  if (oversized !== undefined) return oversized;
  const i = columns.length++;
  columns.ids[i] = noNul(row.id);
  columns.kinds[i] = row.kind;
  columns.times[i] = row.time;
  columns.services[i] = noNul(row.service);
  columns.operations[i] = noNul(row.operation);
  columns.actorIds[i] = noNul(row.actorId);
  columns.targetTypes[i] = noNul(row.targetType);
  columns.targetIds[i] = noNul(row.targetId);
  columns.success[i] = row.success;
  columns.codes[i] = noNul(row.code);
  columns.decisions[i] = row.decision;
  columns.requestIds[i] = noNul(row.requestId);
  columns.traceIds[i] = noNul(row.traceId);
  columns.events[i] = bytes;
  return undefined;
}

function readEvent(reader: BinaryReader): void {
  row.id = row.service = row.operation = row.actorId = row.targetType = row.targetId = "";
  row.code = row.decision = row.requestId = row.traceId = "";
  row.kind = eventKind(eventTypeFromJSON(0));
  row.time = row.since = undefined;
  row.success = false;
  const end = reader.len;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) row.id = text(reader);
    else if (tag === 16) row.kind = eventKind(eventTypeFromJSON(reader.int32()));
    else if (tag === 34) row.time = readTime(reader, reader.uint32());
    else if (tag === 42) row.service = text(reader);
    else if (tag === 50) row.operation = text(reader);
    else if (tag === 58) readActor(reader, reader.uint32());
    else if (tag === 66) readTarget(reader, reader.uint32());
    else if (tag === 74) readResult(reader, reader.uint32());
    else if (tag === 82) row.traceId = text(reader);
    else if (tag === 98) row.requestId = text(reader);
    else if (tag === 170) {
      row.since = undefined;
      row.decision = readDecision(reader, reader.uint32());
    } else if (tag === 210) {
      row.decision = "";
      row.since = readSince(reader, reader.uint32());
    } else {
      // A detail of another kind replaces an authz detail or a record summary read before.
      if (tag >= DETAIL_FIRST && tag <= DETAIL_LAST && (tag & 7) === 2) {
        row.decision = "";
        row.since = undefined;
      }
      if (!walkField(reader, EVENT, tag)) break;
    }
  }
}

/** A Timestamp in ms as the generated decoder's Date holds it (NaN out of its range). */
function readTime(reader: BinaryReader, length: number): number {
  const end = reader.pos + length;
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) seconds = safe(reader.int64());
    else if (tag === 16) nanos = reader.int32();
    else if (!walkField(reader, TIMESTAMP, tag)) break;
  }
  // new Date(ms).getTime(): NaN beyond ±8.64e15, else whole ms (towards zero, no -0).
  const ms = seconds * 1_000 + nanos / 1_000_000;
  return Math.abs(ms) > 8.64e15 ? Number.NaN : Math.trunc(ms) + 0;
}

/** A record summary's `since` (the last one, as the generated decoder keeps), undefined without one. */
function readSince(reader: BinaryReader, length: number): number | undefined {
  const end = reader.pos + length;
  let since: number | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) since = readTime(reader, reader.uint32());
    else if (!walkField(reader, SUMMARY, tag)) break;
  }
  return since;
}

function readActor(reader: BinaryReader, length: number): void {
  const end = reader.pos + length;
  row.actorId = "";
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) row.actorId = text(reader);
    else if (!walkField(reader, ACTOR, tag)) break;
  }
}

function readTarget(reader: BinaryReader, length: number): void {
  const end = reader.pos + length;
  row.targetType = row.targetId = "";
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 10) row.targetType = text(reader);
    else if (tag === 18) row.targetId = text(reader);
    else if (!walkField(reader, TARGET, tag)) break;
  }
}

function readResult(reader: BinaryReader, length: number): void {
  const end = reader.pos + length;
  row.success = false;
  row.code = "";
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) row.success = reader.bool();
    else if (tag === 18) row.code = text(reader);
    else if (!walkField(reader, RESULT, tag)) break;
  }
}

function readDecision(reader: BinaryReader, length: number): string {
  const end = reader.pos + length;
  let decision = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 32) decision = reader.int32();
    else if (!walkField(reader, AUTHZ, tag)) break;
  }
  return decisionName(authzDecisionFromJSON(decision));
}

/** Walks a message of `schema` ending at `end`, checking what decoding it would. */
function walk(reader: BinaryReader, schema: Schema, end: number): void {
  while (reader.pos < end) {
    if (!walkField(reader, schema, reader.uint32())) break;
  }
}

/** Reads or skips the field of `tag` (just read); false for a tag that ends the message. */
function walkField(reader: BinaryReader, schema: Schema, tag: number): boolean {
  const field = schema[tag];
  if (field === VARINT) reader.uint32();
  else if (field === INT64) safe(reader.int64());
  else if (field === UINT64) safe(reader.uint64());
  else if (field !== undefined) {
    const length = reader.uint32();
    walk(reader, field, reader.pos + length);
  } else if ((tag & 7) === 4 || tag === 0) return false;
  else skip(reader, tag & 7);
  return true;
}

/**
 * Skips a field's value as `reader.skip` does, without the subarray of the skipped bytes it returns
 * (on a Buffer, making one cost more than the rest of the walk). Groups and invalid wire types (rare)
 * are left to `reader.skip`.
 */
function skip(reader: BinaryReader, wireType: number): void {
  if (wireType === 0) {
    while ((buffer[reader.pos++] as number) & 0x80) {
      // a varint's bytes up to the last
    }
  } else if (wireType === 2) {
    const length = reader.uint32();
    reader.pos += length;
  } else if (wireType === 1) reader.pos += 8;
  else if (wireType === 5) reader.pos += 4;
  else {
    reader.skip(wireType);
    return;
  }
  if (reader.pos > reader.len) throw new RangeError("premature EOF");
}

/** A 64-bit integer as a number, refused as the generated decoder's longToNumber does outside the safe range. */
function safe(value: bigint | string): number {
  // Number(bigint) rounds as Number(string) does.
  const n = Number(value);
  if (n > Number.MAX_SAFE_INTEGER) throw new Error("Value is larger than Number.MAX_SAFE_INTEGER");
  if (n < Number.MIN_SAFE_INTEGER) throw new Error("Value is smaller than Number.MIN_SAFE_INTEGER");
  return n;
}
