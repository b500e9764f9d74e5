import type { MessageShape, ScalarType, ValueShape } from "../rules/message-shape.js";
import { sortByKey } from "./key-order.js";
import {
  type PayloadProblems,
  type ReadBudget,
  type ReadField,
  type ReadMessage,
  type ReadValue,
  readMessage,
} from "./read-message.js";
import type { Scalar } from "./scalars.js";
import { checkShape } from "./shape-argument.js";
import { isWrapper } from "./well-known.js";

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The proto3 JSON value of `message` read by `shape`, with every sensitive field left out (also inside
 * nested and repeated messages, map values and oneofs). Keys are the fields' JSON names in field-number
 * order; fields at their default are left out unless they have explicit presence (`optional`, oneof
 * members); 64-bit integers are strings, bytes are base64, enums are names (numbers when unknown),
 * Timestamp and Duration are their RFC 3339 and "1.5s" strings, wrappers their bare values; map keys
 * are sorted as the canonical encoding sorts them, but for keys that are array indexes ("9", "10"),
 * which a JavaScript object lists first in numeric order (an event's text keeps the canonical order,
 * "10" before "9"). Works on ts-proto and @grpc/proto-loader objects
 * alike. Never throws for the message: a value of the wrong type is left out and counted in `problems`
 * when given. A `shape` that is not a MessageShape is an AuditInputError.
 */
export function redactToJson(shape: MessageShape, message: unknown, problems?: PayloadProblems): JsonValue {
  checkShape("redactToJson", shape);
  return messageJson(readMessage(shape, message, problems ?? { count: 0, first: [] }));
}

/** What a cut JSON text ends with: the rest of the message was not read, so its size is not known. */
const CUT_MARKER = "…[truncated]";
const CUT_MARKER_BYTES = Buffer.byteLength(CUT_MARKER);
const encoder = new TextEncoder();

/**
 * The text of `JSON.stringify(redactToJson(shape, message))`, its maps in the canonical key order
 * also for keys that are array indexes, when its UTF-8 form has at most `maxBytes` bytes. A longer one
 * is cut: its longest start, on a character boundary, that leaves room for
 * "…[truncated]" within `maxBytes`, then that marker. The message is read only until its JSON certainly
 * passes `maxBytes` (see ReadBudget), strings and bytes only as far as they can show, so a huge message
 * costs about what a message of `maxBytes` costs; problems are counted in the part read. Never throws.
 * `maxBytes` must leave room for the marker (14 bytes); the events' limit is MAX_PAYLOAD_JSON_BYTES.
 * @internal
 */
export function redactToJsonText(
  shape: MessageShape,
  message: unknown,
  maxBytes: number,
  problems?: PayloadProblems,
): string {
  const budget: ReadBudget = { left: maxBytes, chars: maxBytes + 1 };
  const read = readMessage(shape, message, problems ?? { count: 0, first: [] }, budget);
  // Read as far as needed, every value written is the whole one's start (and a string cut to more than
  // `maxBytes` characters already passes `maxBytes` bytes): the text starts as the whole JSON does for
  // more than `maxBytes` bytes, or is the whole JSON.
  const orders: Orders = { needed: false };
  const json = messageJson(read, budget.chars, orders);
  // JSON.stringify is several times faster than jsonText: kept for the JSON that needs no order of its own.
  return cutText(orders.needed ? jsonText(json) : JSON.stringify(json), maxBytes);
}

/**
 * A map's JSON object with its entries in the order given. A plain object lists integer-like keys
 * ("9", "10") first whatever order they were set in, but a map is read in the canonical key order
 * ("10" before "9"), and its JSON text must keep that order to be the start of the whole text.
 */
class OrderedObject {
  constructor(readonly entries: readonly (readonly [string, JsonTree])[]) {}
}

/** A JsonValue whose maps may be OrderedObjects, for jsonText. */
type JsonTree = JsonValue | OrderedObject | JsonTree[] | { [key: string]: JsonTree };

/** Whether messageJson made an OrderedObject: the text then needs jsonText. */
interface Orders {
  needed: boolean;
}

/** A key a plain object lists before the others, in numeric order: an array index, 0 to 2^32 - 2. */
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;
const isIndexKey = (key: string) => INDEX_KEY.test(key) && Number(key) < 2 ** 32 - 1;

/** `JSON.stringify(value)`, but an OrderedObject is written in its own order. */
function jsonText(value: JsonTree): string {
  if (value instanceof OrderedObject) {
    return `{${value.entries.map(([key, entry]) => `${JSON.stringify(key)}:${jsonText(entry)}`).join(",")}}`;
  }
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const object = value;
  return `{${Object.keys(object)
    .map((key) => `${JSON.stringify(key)}:${jsonText(object[key] ?? null)}`)
    .join(",")}}`;
}

function cutText(text: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no count.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  // encodeInto stops before a character that does not fit whole. JSON text holds no lone surrogate.
  const room = Math.max(0, maxBytes - CUT_MARKER_BYTES);
  const { read } = encoder.encodeInto(text, new Uint8Array(room));
  return `${text.slice(0, read)}${CUT_MARKER}`;
}

/**
 * The JSON of a read message; also used for the well-known types' own forms. Strings, bytes' base64
 * and map keys longer than `maxChars` are cut to their first `maxChars` (`redactToJsonText`). With
 * `orders`, a map with a key a plain object would move is an OrderedObject (see jsonText). @internal
 */
export function messageJson(message: ReadMessage, maxChars?: number): JsonValue;
export function messageJson(message: ReadMessage, maxChars: number, orders: Orders): JsonTree;
export function messageJson(
  message: ReadMessage,
  maxChars = Number.POSITIVE_INFINITY,
  orders?: Orders,
): JsonTree {
  const { typeName } = message.shape;
  if (typeName === "google.protobuf.Timestamp") return timestampJson(message);
  if (typeName === "google.protobuf.Duration") return durationJson(message);
  if (isWrapper(typeName)) return wrapperJson(message, maxChars);
  const json: { [key: string]: JsonTree } = {};
  for (const read of message.fields) {
    setKey(json, read.field.jsonName, fieldJson(read, maxChars, orders));
  }
  return json;
}

function fieldJson(read: ReadField, maxChars: number, orders: Orders | undefined): JsonTree {
  if ("single" in read) return valueJson(read.field, read.single, maxChars, orders);
  if ("list" in read) return read.list.map((value) => valueJson(read.field, value, maxChars, orders));
  const entries = sortByKey(read.entries).map(
    ([key, value]) =>
      [head(String(key), maxChars), valueJson(read.field.value, value, maxChars, orders)] as const,
  );
  if (orders !== undefined && entries.some(([key]) => isIndexKey(key))) {
    orders.needed = true;
    return new OrderedObject(entries);
  }
  const map: { [key: string]: JsonTree } = {};
  for (const [key, value] of entries) setKey(map, key, value);
  return map;
}

/**
 * The first `maxChars` UTF-16 units of `text`, one fewer rather than half a surrogate pair: the cut
 * string's JSON must be the start of the whole one's (a lone half would be written as "\ud83d").
 */
function head(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  const next = text.charCodeAt(maxChars);
  const splitsPair = last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  return text.slice(0, splitsPair ? maxChars - 1 : maxChars);
}

/**
 * Sets `key` as an own property. A plain assignment to "__proto__" (a map key, or a `json_name`
 * option) would set the object's prototype instead, and the value would be missing from the JSON.
 */
function setKey(object: { [key: string]: JsonTree }, key: string, value: JsonTree): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function valueJson(
  shape: ValueShape,
  value: ReadValue,
  maxChars: number,
  orders: Orders | undefined,
): JsonTree {
  if (typeof value === "object" && !(value instanceof Uint8Array)) {
    return orders === undefined ? messageJson(value, maxChars) : messageJson(value, maxChars, orders);
  }
  if (shape.kind === "enum") return enumName(shape.values, value) ?? scalarJson(value, maxChars);
  return scalarJson(value, maxChars);
}

function scalarJson(value: Scalar, maxChars: number): JsonValue {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return head(value, maxChars);
  if (value instanceof Uint8Array) {
    // Base64 of whole 3-byte groups is the start of the whole base64: 4 characters per 3 bytes.
    const length = Math.min(value.length, Math.ceil(maxChars / 4) * 3);
    return Buffer.from(value.buffer, value.byteOffset, length).toString("base64");
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value;
}

function enumName(values: Readonly<Record<string, number>>, number: Scalar): string | undefined {
  for (const name in values) if (values[name] === number) return name;
  return undefined;
}

/** The value of field `no` of a well-known type's read message, or its default. */
function part(message: ReadMessage, no: number, fallback: Scalar): Scalar {
  for (const read of message.fields) {
    if (read.field.no === no && "single" in read && !isMessageValue(read.single)) return read.single;
  }
  return fallback;
}

/** An integer field of a well-known type's read message as a bigint; 0 when unset. */
function integerPart(message: ReadMessage, no: number): bigint {
  const value = part(message, no, 0n);
  return typeof value === "bigint" || typeof value === "number" ? BigInt(value) : 0n;
}

function isMessageValue(value: ReadValue): value is ReadMessage {
  return typeof value === "object" && !(value instanceof Uint8Array);
}

function timestampJson(message: ReadMessage): JsonValue {
  // The instant it holds, with nanos in [0, 1e9) as in a valid Timestamp (a decoder takes any int32).
  // Seconds stay a bigint: as a number, beyond 2^53 they would lose their last digits.
  const total = integerPart(message, 1) * 1_000_000_000n + integerPart(message, 2);
  const rest = ((total % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const seconds = (total - rest) / 1_000_000_000n;
  const nanos = Number(rest);
  const date = new Date(Number(seconds) * 1000);
  const iso = Number.isNaN(date.getTime()) ? "" : date.toISOString();
  // Beyond what a Date holds, or outside years 1 to 9999 (an ISO string of another length, such as
  // "+010000-01-01T00:00:00.000Z", whose first 19 characters lose the seconds): not a valid Timestamp.
  if (iso.length !== 24 || iso.startsWith("0000")) return `${seconds}${fraction(nanos)}s`;
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

function durationJson(message: ReadMessage): JsonValue {
  // The time it holds, seconds plus nanos: a valid Duration has both of one sign and |nanos| < 1e9,
  // but a decoder takes any pair, and {1, -0.5e9} is half a second, not "-1.5s".
  const total = integerPart(message, 1) * 1_000_000_000n + integerPart(message, 2);
  const abs = total < 0n ? -total : total;
  return `${total < 0n ? "-" : ""}${abs / 1_000_000_000n}${fraction(Number(abs % 1_000_000_000n))}s`;
}

/** Nanoseconds as proto3 JSON writes them: none, or 3, 6 or 9 digits. */
function fraction(nanos: number): string {
  if (nanos <= 0 || !Number.isInteger(nanos) || nanos >= 1e9) return "";
  const digits = String(nanos).padStart(9, "0");
  if (nanos % 1_000_000 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1000 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

const WRAPPER_DEFAULTS: Readonly<Record<string, Scalar>> = { int64: 0n, uint64: 0n, string: "", bool: false };

function wrapperJson(message: ReadMessage, maxChars: number): JsonValue {
  const field = message.shape.fields[0];
  const scalar: ScalarType = field?.kind === "scalar" ? field.scalar : "double";
  const fallback = scalar === "bytes" ? new Uint8Array() : (WRAPPER_DEFAULTS[scalar] ?? 0);
  return scalarJson(part(message, 1, fallback), maxChars);
}
