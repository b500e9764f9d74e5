/**
 * Resolves a `target_id_field` path ("req.project.id", "resp.member_id") against the descriptors of
 * a method's request and response messages, so that a wrong path fails the build instead of giving
 * empty ids at runtime.
 */
import {
  type DescField,
  type DescMessage,
  type DescMethod,
  isFieldSet,
  ScalarType,
} from "@bufbuild/protobuf";
import { FieldDescriptorProto_Type, FieldDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { sharedPropertyName } from "./property-names.js";
import { quoteValue } from "./quote-value.js";
import type { IsSensitive } from "./sensitive.js";

/** A checked path: the fields to read, from the request or response message down to the leaf. */
export interface IdPath {
  readonly side: "request" | "response";
  /** Singular fields, each but the last of message type; never empty. */
  readonly fields: readonly DescField[];
  /** How the leaf becomes a string: as it is, or as the decimal string of an integer. */
  readonly leaf: "string" | "integer";
}

/** The path, or why it cannot be read. */
export type PathResult = { readonly path: IdPath } | { readonly reason: string };

const INTEGER_TYPES: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

/**
 * Resolves `text` against the method's input ("req.") or output ("resp.") message. A sensitive field on
 * the path is an error: the id would carry what payload capture leaves out.
 */
export function resolveIdPath(text: string, method: DescMethod, isSensitive: IsSensitive): PathResult {
  const [side, prefix, start] = text.startsWith("req.")
    ? (["request", "req.", method.input] as const)
    : text.startsWith("resp.")
      ? (["response", "resp.", method.output] as const)
      : [];
  if (side === undefined) return { reason: 'must start with "req." or "resp."' };
  // ts-proto passes most of these as a bare value (a Date, a string), so a path into one reads nothing.
  if (isWellKnown(start)) {
    return {
      reason: `the ${side} has type ${start.typeName}; well-known types cannot be on the path; wrap it in a message of your own`,
    };
  }
  const names = text.slice(prefix.length).split(".");
  const leafName = names.pop();
  if (leafName === undefined || (names.length === 0 && leafName === "")) {
    return { reason: `no field path after "${prefix}"` };
  }
  const fields: DescField[] = [];
  let message: DescMessage = start;
  for (const [i, name] of names.entries()) {
    const field = findSingular(message, name, isSensitive);
    if (typeof field === "string") return { reason: field };
    const next = names[i + 1] ?? leafName;
    if (field.fieldKind !== "message") {
      // "req.id." or "req.id..x": say what is wrong with the path rather than look for a field "".
      if (next === "") return { reason: `empty field name after "${name}"` };
      return {
        reason: `${where(message, name)} has type ${typeName(field)}; it has no field ${quoteValue(next)}`,
      };
    }
    if (isWellKnown(field.message)) {
      return {
        reason: `${where(message, name)} has type ${typeName(field)}; well-known types cannot be on the path`,
      };
    }
    // Editions' delimited encoding is a group on the wire, but ts-proto decodes a group only when the
    // descriptor says TYPE_GROUP (proto2): it skips this field, so a ts-proto server would read "".
    if (field.delimitedEncoding && field.proto.type !== FieldDescriptorProto_Type.GROUP) {
      return {
        reason: `${where(message, name)} is encoded delimited (features.message_encoding = DELIMITED); ts-proto decodes only proto2 groups, not such a field, so a ts-proto server would read the id as "" while @grpc/proto-loader reads it; use the default LENGTH_PREFIXED encoding`,
      };
    }
    fields.push(field);
    message = field.message;
  }
  const leaf = findSingular(message, leafName, isSensitive);
  if (typeof leaf === "string") return { reason: leaf };
  const kind = leafKind(leaf);
  if (kind === undefined) {
    return {
      reason: `${where(message, leafName)} has type ${typeName(leaf)}; the path must end at a string or integer field`,
    };
  }
  return { path: { side, fields: [...fields, leaf], leaf: kind } };
}

/**
 * The singular, non-oneof, non-sensitive field `name` of `message` whose property names are its own and
 * that declares no default, or why it cannot be on the path.
 */
function findSingular(message: DescMessage, name: string, isSensitive: IsSensitive): DescField | string {
  if (name === "") return `empty field name in ${message.typeName}`;
  const field = message.fields.find((f) => f.name === name);
  // `name` is from the option, so it may hold anything: a field's own name is a plain identifier.
  if (field === undefined) return `no field ${quoteValue(name)} in ${message.typeName}`;
  switch (field.fieldKind) {
    case "list":
      return `${where(message, name)} is repeated; only singular fields can be on the path`;
    case "map":
      return `${where(message, name)} is a map; only singular fields can be on the path`;
  }
  if (field.oneof !== undefined) {
    return `${where(message, name)} is in oneof "${field.oneof.name}"; oneof members cannot be on the path`;
  }
  if (isSensitive(field)) return `${where(message, name)} is sensitive; an id read from it would be recorded`;
  const shared = sharedPropertyName(field);
  if (shared !== undefined) {
    return `${where(message, name)} shares the property name "${shared.name}" with ${shared.other} of the message, so the id could be read from the other one; rename one of them`;
  }
  // proto2 and editions allow `[default = …]`, and the loaders disagree on whether an absent field has it.
  if (isFieldSet(field.proto, FieldDescriptorProtoSchema.field.defaultValue)) {
    return `${where(message, name)} declares [default = ${defaultText(field)}]; loaders disagree on an absent field's default (ts-proto reads it, @grpc/proto-loader only with defaults: true, else nothing), so the id would depend on the server's loader; remove the default`;
  }
  return field;
}

/** The declared default as written in the .proto: strings quoted, numbers and enum values bare. */
function defaultText(field: DescField): string {
  const text = field.proto.defaultValue;
  return field.fieldKind === "scalar" && field.scalar === ScalarType.STRING ? quoteValue(text) : text;
}

function leafKind(field: DescField): IdPath["leaf"] | undefined {
  if (field.fieldKind !== "scalar") return undefined;
  if (field.scalar === ScalarType.STRING) return "string";
  return INTEGER_TYPES.has(field.scalar) ? "integer" : undefined;
}

function isWellKnown(message: DescMessage): boolean {
  return message.file.proto.package === "google.protobuf";
}

function where(message: DescMessage, name: string): string {
  return `field "${name}" of ${message.typeName}`;
}

function typeName(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return ScalarType[field.scalar].toLowerCase();
    case "enum":
      return `enum ${field.enum.typeName}`;
    case "message":
      return `message ${field.message.typeName}`;
    default:
      return field.fieldKind;
  }
}
