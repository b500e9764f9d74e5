import type { FieldShape, MessageShape, ScalarType, WellKnownType } from "../rules/message-shape.js";
import { toScalar } from "./scalars.js";

/**
 * The well-known types a payload may hold, as message shapes: a payload reads and encodes them like any
 * message (Timestamp is `{ seconds, nanos }` on the wire), and writes them in their own proto3 JSON forms.
 */

function scalarField(no: number, name: string, scalar: ScalarType): FieldShape {
  return {
    no,
    name,
    jsonName: name,
    properties: [name],
    sensitive: false,
    kind: "scalar",
    scalar,
    repeated: false,
    optional: false,
    oneof: undefined,
  };
}

function timeShape(typeName: string): MessageShape {
  return { typeName, fields: [scalarField(1, "seconds", "int64"), scalarField(2, "nanos", "int32")] };
}

function wrapperShape(typeName: string, scalar: ScalarType): MessageShape {
  return { typeName, fields: [scalarField(1, "value", scalar)] };
}

const SHAPES: Readonly<Record<WellKnownType, MessageShape>> = {
  "google.protobuf.Timestamp": timeShape("google.protobuf.Timestamp"),
  "google.protobuf.Duration": timeShape("google.protobuf.Duration"),
  "google.protobuf.DoubleValue": wrapperShape("google.protobuf.DoubleValue", "double"),
  "google.protobuf.FloatValue": wrapperShape("google.protobuf.FloatValue", "float"),
  "google.protobuf.Int64Value": wrapperShape("google.protobuf.Int64Value", "int64"),
  "google.protobuf.UInt64Value": wrapperShape("google.protobuf.UInt64Value", "uint64"),
  "google.protobuf.Int32Value": wrapperShape("google.protobuf.Int32Value", "int32"),
  "google.protobuf.UInt32Value": wrapperShape("google.protobuf.UInt32Value", "uint32"),
  "google.protobuf.BoolValue": wrapperShape("google.protobuf.BoolValue", "bool"),
  "google.protobuf.StringValue": wrapperShape("google.protobuf.StringValue", "string"),
  "google.protobuf.BytesValue": wrapperShape("google.protobuf.BytesValue", "bytes"),
  "google.protobuf.Empty": { typeName: "google.protobuf.Empty", fields: [] },
};

/** The message shape of a well-known type. @internal */
export function wellKnownShape(type: WellKnownType): MessageShape {
  return SHAPES[type];
}

/** True for the wrapper types (google.protobuf.*Value), whose JSON form is the bare value. @internal */
export function isWrapper(typeName: string): boolean {
  return typeName.endsWith("Value") && typeName.startsWith("google.protobuf.");
}

/**
 * A well-known type's value as the message its shape reads: a Date (ts-proto's Timestamp) becomes
 * `{ seconds, nanos }` with nanos in [0, 1e9), and so does a Timestamp `{ seconds, nanos }` of nanos
 * outside it (see normalTimestamp); a wrapper's bare value (ts-proto) becomes `{ value }`, while
 * proto-loader's `{ value }` stays as it is; an invalid Date is undefined. Anything else is returned
 * as it is and read as a message (wrong types are then reported by the reader).
 */
export function wellKnownMessage(type: WellKnownType, value: unknown): unknown {
  if (type === "google.protobuf.Timestamp") {
    if (!(value instanceof Date)) return normalTimestamp(value);
    const ms = value.getTime();
    if (Number.isNaN(ms)) return undefined; // an invalid Date: no time to record
    const seconds = Math.floor(ms / 1000);
    return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
  }
  if (isWrapper(type) && !isWrapperObject(value)) return { value };
  return value;
}

/**
 * A Timestamp `{ seconds, nanos }` as the instant it holds, with nanos in [0, 1e9), as the JSON writes
 * it: ts-proto writes a `Date` before 1970 with negative nanos, which proto-loader passes on as they
 * are while ts-proto decodes them into a `Date`; both must give one encoding. Returned as it is when
 * the nanos are in range already, or when a part is not a valid integer (the reader reports it).
 */
function normalTimestamp(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  let seconds: unknown;
  let nanos: unknown;
  try {
    ({ seconds, nanos } = value as { seconds?: unknown; nanos?: unknown });
  } catch {
    return value; // a getter that throws: the reader reports it
  }
  const n = nanos === undefined || nanos === null ? 0 : toScalar("int32", nanos);
  if (typeof n !== "number" || (n >= 0 && n < NANOS_PER_SECOND)) return value;
  const s = seconds === undefined || seconds === null ? 0n : toScalar("int64", seconds);
  if (typeof s !== "bigint") return value;
  const total = s * BIG_NANOS_PER_SECOND + BigInt(n);
  const rest = ((total % BIG_NANOS_PER_SECOND) + BIG_NANOS_PER_SECOND) % BIG_NANOS_PER_SECOND;
  return { seconds: (total - rest) / BIG_NANOS_PER_SECOND, nanos: Number(rest) };
}

const NANOS_PER_SECOND = 1_000_000_000;
const BIG_NANOS_PER_SECOND = 1_000_000_000n;

/**
 * proto-loader's form of a wrapper: an object with a `value` property, or an empty object when the
 * wrapper holds its default and `defaults` is off. A Buffer or a Long (`{ low, high, unsigned }`),
 * ts-proto's bare bytes and 64-bit values, are not.
 */
function isWrapperObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return false;
  return Object.hasOwn(value, "value") || Object.keys(value).length === 0;
}
