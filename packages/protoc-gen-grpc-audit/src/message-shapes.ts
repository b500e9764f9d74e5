/**
 * What payload capture needs of a method's messages: the message types each one holds (through
 * nested, repeated and map fields and oneof members) and what each field holds. Payload capture walks a
 * message by its shape, so it must understand every type on the way: google.protobuf types other than
 * Timestamp, Duration, the wrappers and Empty (Any, Struct, Value, ListValue, FieldMask, …) fail the build
 * when a field that is not sensitive reaches them. A sensitive field is left out whole, so whatever lies
 * behind it is not checked.
 */
import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { IsSensitive } from "./sensitive.js";

/** The well-known types payload capture reads as values; grpc-audit's `WellKnownType`. */
const WELL_KNOWN: ReadonlySet<string> = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Empty",
]);

const EMPTY = "google.protobuf.Empty";

/** What one value (a singular field, a repeated field's element, a map's value) holds. */
export type ValueKind =
  | { readonly kind: "scalar"; readonly scalar: string }
  | { readonly kind: "enum"; readonly enum: DescEnum }
  | { readonly kind: "message"; readonly message: DescMessage }
  | { readonly kind: "wellKnown"; readonly type: string };

/** A field's shape: a map with its key's scalar type and its value, or a value with its cardinality. */
export type FieldKind =
  | { readonly kind: "map"; readonly key: string; readonly value: ValueKind }
  | { readonly kind: "value"; readonly value: ValueKind; readonly repeated: boolean };

/** What `field` holds. */
export function fieldKind(field: DescField): FieldKind {
  switch (field.fieldKind) {
    case "map": {
      const value: ValueKind =
        field.mapKind === "message"
          ? messageValue(field.message)
          : field.mapKind === "enum"
            ? { kind: "enum", enum: field.enum }
            : scalarValue(field.scalar);
      return { kind: "map", key: scalarName(field.mapKey), value };
    }
    case "list": {
      const value: ValueKind =
        field.listKind === "message"
          ? messageValue(field.message)
          : field.listKind === "enum"
            ? { kind: "enum", enum: field.enum }
            : scalarValue(field.scalar);
      return { kind: "value", value, repeated: true };
    }
    case "message":
      return { kind: "value", value: messageValue(field.message), repeated: false };
    case "enum":
      return { kind: "value", value: { kind: "enum", enum: field.enum }, repeated: false };
    case "scalar":
      return { kind: "value", value: scalarValue(field.scalar), repeated: false };
  }
}

/** The fields of `message` in field-number order. */
export function fieldsByNumber(message: DescMessage): DescField[] {
  return [...message.fields].sort((a, b) => a.number - b.number);
}

/** The message types the fields of `message` hold (not well-known values), by field number. */
export function childMessages(message: DescMessage): DescMessage[] {
  return messageFields(message).map(([, type]) => type);
}

/**
 * Why the message `root` cannot be captured: one line per type payload capture cannot read, naming the
 * first path that reaches it through fields that are not sensitive ("req.config.extra has type
 * google.protobuf.Struct"). Empty when it can be captured.
 */
export function uncapturable(root: DescMessage, prefix: string, isSensitive: IsSensitive): string[] {
  if (unreadable(root)) return [`${prefix} has type ${root.typeName}`];
  if (readable(root, isSensitive)) return [];
  const problems: string[] = [];
  const seen = new Set<string>([root.typeName]);
  // Depth first with a stack, as planShapes: the first path to each type is the one named.
  const below = (message: DescMessage, path: string) =>
    messageFields(message)
      .filter(([field]) => !isSensitive(field))
      .map(([field, type]) => ({ type, where: `${path}.${field.name}` }))
      .reverse();
  const stack = below(root, prefix);
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { type, where } = next;
    if (seen.has(type.typeName)) continue;
    seen.add(type.typeName);
    if (unreadable(type)) problems.push(`${where} has type ${type.typeName}`);
    else stack.push(...below(type, where));
  }
  return problems;
}

/**
 * Why payload capture cannot take `root` as a whole request or response, or undefined: a google.protobuf
 * type other than Empty, which ts-proto passes as a bare value (a Date, a string, a plain object), not as
 * the message the shape describes.
 */
export function uncapturableRoot(root: DescMessage, prefix: string): string | undefined {
  if (root.file.proto.package !== "google.protobuf" || root.typeName === EMPTY) return undefined;
  return `${prefix} has type ${root.typeName}; payload capture cannot read a well-known type as the whole ${prefix === "req" ? "request" : "response"}; wrap it in a message of your own`;
}

/**
 * Types known to reach nothing unreadable through fields that are not sensitive, per sensitivity test
 * (and so per run); keyed by descriptor, since a test such as debug_redact's outlives a run.
 */
const readableTypes = new WeakMap<IsSensitive, WeakSet<DescMessage>>();

/**
 * Whether nothing unreadable is reachable from `root` through fields that are not sensitive. Types found
 * so are remembered and not walked again, so checking every method of a run walks each type about once
 * instead of once per method and side.
 */
function readable(root: DescMessage, isSensitive: IsSensitive): boolean {
  let known = readableTypes.get(isSensitive);
  if (known === undefined) {
    known = new WeakSet();
    readableTypes.set(isSensitive, known);
  }
  const visited = new Set<DescMessage>([root]);
  const stack = [root];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const [field, type] of messageFields(next)) {
      if (isSensitive(field) || known.has(type) || visited.has(type)) continue;
      if (unreadable(type)) return false;
      visited.add(type);
      stack.push(type);
    }
  }
  // Everything reachable from a visited type was visited or already known readable.
  for (const type of visited) known.add(type);
  return true;
}

/** The fields of `message` that hold messages (not well-known values), by number, with their types. */
function messageFields(message: DescMessage): [DescField, DescMessage][] {
  return fieldsByNumber(message).flatMap((field): [DescField, DescMessage][] => {
    const { value } = fieldKind(field);
    return value.kind === "message" ? [[field, value.message]] : [];
  });
}

/** A google.protobuf message payload capture cannot read as a value nor walk as a message of yours. */
function unreadable(message: DescMessage): boolean {
  return message.file.proto.package === "google.protobuf" && !WELL_KNOWN.has(message.typeName);
}

function messageValue(message: DescMessage): ValueKind {
  return WELL_KNOWN.has(message.typeName)
    ? { kind: "wellKnown", type: message.typeName }
    : { kind: "message", message };
}

function scalarValue(scalar: ScalarType): ValueKind {
  return { kind: "scalar", scalar: scalarName(scalar) };
}

/** descriptor.proto's name without `TYPE_`, lowercased: "int64", "sfixed32". */
function scalarName(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}
