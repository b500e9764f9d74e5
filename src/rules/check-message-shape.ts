import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { MessageShape, ScalarType, ValueShape, WellKnownType } from "./message-shape.js";

/**
 * The check of hand-written message shapes: the plugin's are right by construction, but a JavaScript
 * table or a cast is not, and a misspelt `sensitive` would capture the field in clear.
 */

/** Every ScalarType: a Record, so that a new one cannot be left out here. */
const SCALARS: Readonly<Record<ScalarType, true>> = {
  double: true,
  float: true,
  int64: true,
  uint64: true,
  int32: true,
  fixed64: true,
  fixed32: true,
  bool: true,
  string: true,
  bytes: true,
  uint32: true,
  sfixed32: true,
  sfixed64: true,
  sint32: true,
  sint64: true,
};
const SCALAR_TYPES: readonly string[] = Object.keys(SCALARS);
/** Protobuf map keys: any scalar but floating point and bytes. */
const MAP_KEY_TYPES = SCALAR_TYPES.filter((type) => !["double", "float", "bytes"].includes(type));

const WELL_KNOWN: Readonly<Record<WellKnownType, true>> = {
  "google.protobuf.Timestamp": true,
  "google.protobuf.Duration": true,
  "google.protobuf.DoubleValue": true,
  "google.protobuf.FloatValue": true,
  "google.protobuf.Int64Value": true,
  "google.protobuf.UInt64Value": true,
  "google.protobuf.Int32Value": true,
  "google.protobuf.UInt32Value": true,
  "google.protobuf.BoolValue": true,
  "google.protobuf.StringValue": true,
  "google.protobuf.BytesValue": true,
  "google.protobuf.Empty": true,
};
const WELL_KNOWN_TYPES: readonly string[] = Object.keys(WELL_KNOWN);

/** Each value kind with the key that holds what it is. */
const VALUE_KEYS: Readonly<Record<ValueShape["kind"], string>> = {
  scalar: "scalar",
  enum: "values",
  message: "message",
  wellKnown: "type",
};
const KINDS = [...Object.keys(VALUE_KEYS), "map"];
const FIELD_KEYS = ["no", "name", "jsonName", "properties", "sensitive", "kind"];
const CARDINALITY_KEYS = ["repeated", "optional", "oneof", "default", "packed", "delimited"];

/** Protobuf's highest field number. */
const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** A shape still to check, and how an error names it. */
interface Pending {
  readonly shape: unknown;
  /** The field path from the top shape; undefined for the top shape itself. */
  readonly path: string | undefined;
}

/**
 * Checks `shape` and every message shape it reaches (nested, repeated, map values), skipping shapes in
 * `checked` and adding those it checks: shared and recursive shapes are checked once. Each field must
 * have its kind's keys with the right types, and no other key (a misspelt one gets a "did you mean").
 * `message()` must return the same shape each time, so that the walk ends. Throws an AuditConfigError
 * that begins with `label` (such as "rule /pkg.Svc/M: request shape") and names the shape path and field.
 * @internal
 */
export function checkMessageShape(label: string, shape: unknown, checked: Set<object>): void {
  const typeName =
    typeof shape === "object" && shape !== null ? (shape as { typeName?: unknown }).typeName : "";
  const root = isName(typeName) ? `${label} ${typeName}` : label;
  const pending: Pending[] = [{ shape, path: undefined }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const where = next.path === undefined ? root : `${root} at ${next.path}`;
    if (typeof next.shape === "object" && next.shape !== null && checked.has(next.shape)) continue;
    for (const [step, nested] of checkOne(where, next.shape, next.path === undefined)) {
      pending.push({ shape: nested, path: next.path === undefined ? step : `${next.path}.${step}` });
    }
    checked.add(next.shape as object);
  }
}

/** Checks one message shape's own fields; returns the message shapes they hold, by field path step. */
function checkOne(where: string, shape: unknown, top: boolean): [string, unknown][] {
  if (typeof shape !== "object" || shape === null || Array.isArray(shape)) {
    throw new AuditConfigError(
      `${where} must be a MessageShape (an object with typeName and fields), got ${shown(shape)}`,
    );
  }
  const { typeName, fields } = shape as Partial<MessageShape>;
  if (typeof typeName !== "string" || typeName === "") {
    throw new AuditConfigError(`${where}: typeName must be a non-empty string, got ${shown(typeName)}`);
  }
  const named = top ? where : `${where} (${typeName})`;
  rejectUnknownOptions(named, shape, ["typeName", "fields"]);
  if (!Array.isArray(fields)) {
    throw new AuditConfigError(`${named}: fields must be an array, got ${shown(fields)}`);
  }
  const nested: [string, unknown][] = [];
  fields.forEach((field: unknown, index) => {
    const name = (field as { name?: unknown } | null)?.name;
    const label = `${named} field ${typeof name === "string" && name !== "" ? shown(name) : `[${index}]`}`;
    const message = checkField(label, field);
    // A map value's step, as payload problems name it.
    const step = (field as { kind: unknown }).kind === "map" ? `${String(name)}[]` : String(name);
    if (message !== undefined) nested.push([step, message]);
  });
  return nested;
}

/** Checks one field; returns the message shape it holds (a map's value's), if any. */
function checkField(label: string, field: unknown): unknown {
  if (typeof field !== "object" || field === null || Array.isArray(field)) {
    throw new AuditConfigError(`${label} must be a field object, got ${shown(field)}`);
  }
  const { kind, no, name, jsonName, properties, sensitive } = field as Record<string, unknown>;
  if (typeof kind !== "string" || !KINDS.includes(kind)) {
    throw new AuditConfigError(`${label}: kind must be one of ${KINDS.join(", ")}, got ${shown(kind)}`);
  }
  const own =
    kind === "map" ? ["key", "value"] : [VALUE_KEYS[kind as ValueShape["kind"]], ...CARDINALITY_KEYS];
  rejectUnknownOptions(label, field, [...FIELD_KEYS, ...own]);
  if (typeof no !== "number" || !Number.isInteger(no) || no < 1 || no > MAX_FIELD_NUMBER) {
    throw new AuditConfigError(
      `${label}: no must be a field number, an integer from 1 to ${MAX_FIELD_NUMBER}, got ${shown(no)}`,
    );
  }
  must(label, "name", isName(name), name);
  must(label, "jsonName", isName(jsonName), jsonName);
  if (
    properties !== undefined &&
    !(Array.isArray(properties) && properties.length > 0 && properties.every(isName))
  ) {
    throw new AuditConfigError(
      `${label}: properties must be a non-empty array of non-empty strings, got ${shown(properties)}`,
    );
  }
  if (sensitive !== undefined)
    must(label, "sensitive", typeof sensitive === "boolean", sensitive, "a boolean");
  if (kind === "map") return checkMap(label, field as Record<string, unknown>);
  const {
    repeated,
    optional,
    oneof,
    default: declared,
    packed,
    delimited,
  } = field as Record<string, unknown>;
  must(label, "repeated", typeof repeated === "boolean", repeated, "a boolean");
  must(label, "optional", typeof optional === "boolean", optional, "a boolean");
  if (oneof !== undefined) must(label, "oneof", isName(oneof), oneof, "a non-empty string or undefined");
  const scalarDefault = ["number", "string", "boolean"].includes(typeof declared);
  if (declared !== undefined) must(label, "default", scalarDefault, declared, "a number, string or boolean");
  if (packed !== undefined) must(label, "packed", typeof packed === "boolean", packed, "a boolean");
  if (delimited !== undefined)
    must(label, "delimited", typeof delimited === "boolean", delimited, "a boolean");
  return checkValue(label, field as Record<string, unknown>);
}

/** Checks a map field's key type and value; returns the value's message shape, if any. */
function checkMap(label: string, field: Record<string, unknown>): unknown {
  const { key, value } = field;
  if (typeof key !== "string" || !MAP_KEY_TYPES.includes(key)) {
    throw new AuditConfigError(`${label}: key must be one of ${MAP_KEY_TYPES.join(", ")}, got ${shown(key)}`);
  }
  const where = `${label} value`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AuditConfigError(`${where} must be a value shape object, got ${shown(value)}`);
  }
  const { kind } = value as Record<string, unknown>;
  if (typeof kind !== "string" || !Object.hasOwn(VALUE_KEYS, kind)) {
    throw new AuditConfigError(
      `${where}: kind must be one of ${Object.keys(VALUE_KEYS).join(", ")}, got ${shown(kind)}`,
    );
  }
  rejectUnknownOptions(where, value, ["kind", VALUE_KEYS[kind as ValueShape["kind"]]]);
  return checkValue(where, value as Record<string, unknown>);
}

/** Checks what a value of a known kind holds; returns its message shape for kind "message". */
function checkValue(label: string, value: Record<string, unknown>): unknown {
  switch (value.kind) {
    case "scalar": {
      const ok = typeof value.scalar === "string" && SCALAR_TYPES.includes(value.scalar);
      must(label, "scalar", ok, value.scalar, `one of ${SCALAR_TYPES.join(", ")}`);
      return undefined;
    }
    case "enum": {
      const { values } = value;
      const ok =
        typeof values === "object" &&
        values !== null &&
        !Array.isArray(values) &&
        Object.values(values).every((n) => Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX);
      must(label, "values", ok, values, "an object of enum value numbers (int32) by name");
      return undefined;
    }
    case "wellKnown": {
      const ok = typeof value.type === "string" && WELL_KNOWN_TYPES.includes(value.type);
      must(label, "type", ok, value.type, `one of ${WELL_KNOWN_TYPES.join(", ")}`);
      return undefined;
    }
    default: // "message", the kind left
      return messageOf(label, value.message);
  }
}

/** The shape a field's `message()` returns, the same each time (a new one each call would never end the walk). */
function messageOf(label: string, message: unknown): unknown {
  if (typeof message !== "function") {
    throw new AuditConfigError(
      `${label}: message must be a function returning a MessageShape, got ${shown(message)}`,
    );
  }
  let first: unknown;
  let second: unknown;
  try {
    first = message();
    second = message();
  } catch (cause) {
    throw new AuditConfigError(`${label}: message() threw`, { cause });
  }
  if (first !== second) {
    throw new AuditConfigError(`${label}: message() must return the same MessageShape object each time`);
  }
  return first;
}

function isName(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

/** Throws unless `ok`: `key` must be `what` (by default a non-empty string). */
function must(label: string, key: string, ok: boolean, value: unknown, what = "a non-empty string"): void {
  if (!ok) throw new AuditConfigError(`${label}: ${key} must be ${what}, got ${shown(value)}`);
}
