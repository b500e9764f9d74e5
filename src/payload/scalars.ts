import type { ScalarType } from "../rules/message-shape.js";

/**
 * One scalar in the single form the payload module works with, whatever loader produced it: 32-bit
 * integers, floats and enums as numbers, 64-bit integers as bigint, bytes as Uint8Array.
 * @internal
 */
export type Scalar = number | bigint | boolean | string | Uint8Array;

/** What a conversion returns for a value of the wrong type or out of range: the caller skips it. */
export const INVALID = Symbol("invalid");

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;
const DECIMAL = /^-?\d+$/;
/** More decimal characters than any 64-bit integer needs: "-" and 20 digits (leading zeros aside). */
const INT64_CHARS = 21;

/**
 * `value` as the scalar of `type`, or INVALID. Accepts each loader's forms: numbers or decimal strings
 * for integers; for 64-bit integers also bigint and Long objects (`{ low, high }`); for floats also the
 * strings "NaN", "Infinity", "-Infinity"; for bytes a Uint8Array (a Buffer) or a base64 string.
 * Out-of-range integers are INVALID, never wrapped.
 */
export function toScalar(type: ScalarType, value: unknown): Scalar | typeof INVALID {
  switch (type) {
    case "double":
      return toFloat(value);
    case "float": {
      const float = toFloat(value);
      return float === INVALID ? INVALID : Math.fround(float);
    }
    case "int32":
    case "sint32":
    case "sfixed32":
      return toInt32(value, INT32_MIN, INT32_MAX);
    case "uint32":
    case "fixed32":
      return toInt32(value, 0, UINT32_MAX);
    case "int64":
    case "sint64":
    case "sfixed64":
      return toInt64(value, true);
    case "uint64":
    case "fixed64":
      return toInt64(value, false);
    case "bool":
      return typeof value === "boolean" ? value : INVALID;
    case "string":
      return typeof value === "string" ? value : INVALID;
    case "bytes":
      if (value instanceof Uint8Array) return value;
      return typeof value === "string" ? Buffer.from(value, "base64") : INVALID;
  }
}

/** Base64 characters, standard and URL-safe (Buffer decodes both). */
const BASE64_CHARS = /^[A-Za-z0-9+/_-]*$/;

/**
 * The first `maxBytes` bytes (or more) of bytes given as a base64 string, decoding no more of it than
 * those need: a reader that shows only a start need not decode 10 MB. Each 4 base64 characters decode
 * to 3 bytes, the start of what the whole text decodes to; a start holding anything else (whitespace,
 * padding) is decoded whole, as that rule does not hold for it.
 * @internal
 */
export function bytesHead(base64: string, maxBytes: number): Uint8Array {
  const chars = Math.ceil(maxBytes / 3) * 4;
  if (base64.length > chars) {
    const head = base64.slice(0, chars);
    if (BASE64_CHARS.test(head)) return Buffer.from(head, "base64");
  }
  return Buffer.from(base64, "base64");
}

/** An enum value's number: from a number, or from a name the enum has; else INVALID. */
export function toEnum(values: Readonly<Record<string, number>>, value: unknown): number | typeof INVALID {
  if (typeof value === "string") {
    const number = Object.hasOwn(values, value) ? values[value] : undefined;
    return typeof number === "number" ? number : INVALID;
  }
  return toInt32(value, INT32_MIN, INT32_MAX);
}

/** True for the value a field without explicit presence holds when it is not set (then not written). */
export function isDefault(value: Scalar): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  // -0 counts as 0, as ts-proto's `!== 0` check (and protobuf-es') treats it.
  return value === 0 || value === 0n || value === false || value === "";
}

/**
 * Whether `value` is a field's declared default (the shape's `default`; a 64-bit integer's as a decimal
 * string), which ts-proto fills in for an absent field and never writes: such a value counts as absent
 * whichever loader read it. False without a declared default.
 */
export function isDeclaredDefault(declared: number | string | boolean | undefined, value: Scalar): boolean {
  if (declared === undefined) return false;
  if (typeof value === "bigint") return String(value) === declared;
  // A NaN default (`[default = nan]`) is held by a NaN value.
  return value === declared || (Number.isNaN(declared) && Number.isNaN(value));
}

/** The 64-bit integer key types, and whether each is signed. */
const INT64_KEY_SIGNED: Partial<Record<ScalarType, boolean>> = {
  int64: true,
  sint64: true,
  sfixed64: true,
  uint64: false,
  fixed64: false,
};

/**
 * A map key in its scalar form: map keys arrive as object property names (strings) from every loader,
 * or as the key itself from a JavaScript Map. Float, double and bytes are not valid key types. A 64-bit
 * key is a decimal (ts-proto, protobufjs without `long`) or protobufjs' 8-character hash form, which
 * @grpc/proto-loader passes on: a key that reads as a decimal is taken as one, so a hash spelling one
 * (its 8 bytes all ASCII digits, or "-" and 7 digits) is misread; no loader marks which form it used.
 */
export function toMapKey(type: ScalarType, key: unknown): Scalar | typeof INVALID {
  if (type === "string") return typeof key === "string" ? key : INVALID;
  if (type === "bool") {
    if (typeof key === "boolean") return key;
    return key === "true" ? true : key === "false" ? false : INVALID;
  }
  if (type === "double" || type === "float" || type === "bytes") return INVALID;
  const scalar = toScalar(type, key);
  const signed = INT64_KEY_SIGNED[type];
  if (scalar !== INVALID || typeof key !== "string" || signed === undefined) return scalar;
  return fromLongHash(key, signed);
}

/**
 * A 64-bit integer from protobufjs' hash form of it (`util.longToHash`, which its decoder uses for
 * 64-bit map keys): 8 characters, each one byte of the two's complement bits, least significant first.
 * The decoding of `LongBits.fromHash`, done here since protobufjs is no dependency of this package.
 * INVALID for any other string.
 */
function fromLongHash(key: string, signed: boolean): bigint | typeof INVALID {
  if (key.length !== 8) return INVALID;
  let bits = 0n;
  for (let i = 7; i >= 0; i--) {
    const byte = key.charCodeAt(i);
    if (byte > 0xff) return INVALID;
    bits = (bits << 8n) | BigInt(byte);
  }
  return signed ? BigInt.asIntN(64, bits) : bits;
}

function toFloat(value: unknown): number | typeof INVALID {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (typeof value === "string" && value.trim() !== "") {
    const number = Number(value);
    return Number.isNaN(number) ? INVALID : number;
  }
  return INVALID;
}

function toInt32(value: unknown, min: number, max: number): number | typeof INVALID {
  const number = typeof value === "string" && DECIMAL.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < min || number > max) {
    return INVALID;
  }
  return number === 0 ? 0 : number; // -0 is written as 0
}

function toInt64(value: unknown, signed: boolean): bigint | typeof INVALID {
  let big: bigint;
  if (typeof value === "bigint") big = value;
  else if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === "string" && DECIMAL.test(value)) {
    const parsed = value.length > INT64_CHARS ? longDecimal(value) : BigInt(value);
    if (parsed === undefined) return INVALID;
    big = parsed;
  } else if (isLong(value)) {
    // A Long holds the 64 bits as two 32-bit halves, whatever its `unsigned` flag says.
    const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
    return signed ? BigInt.asIntN(64, bits) : BigInt.asUintN(64, bits);
  } else return INVALID;
  const fits = signed ? BigInt.asIntN(64, big) === big : BigInt.asUintN(64, big) === big;
  return fits ? big : INVALID;
}

/**
 * A decimal string longer than any 64-bit integer's text, when leading zeros make it so; undefined when
 * it has more significant digits than one holds. BigInt takes time quadratic in the digits it is given.
 */
function longDecimal(value: string): bigint | undefined {
  const digits = value.replace(/^-?0*/, "");
  if (digits.length > INT64_CHARS - 1) return undefined;
  return BigInt(value.startsWith("-") && digits !== "" ? `-${digits}` : digits);
}

function isLong(value: unknown): value is { low: number; high: number } {
  if (typeof value !== "object" || value === null) return false;
  const { low, high } = value as { low?: unknown; high?: unknown };
  return Number.isInteger(low) && Number.isInteger(high);
}
