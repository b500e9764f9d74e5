/**
 * Prints the message shapes of a file's payload-capturing rules: one frozen `const` per message type
 * reachable from their requests and responses, shared by every rule, and the types they are declared
 * with. The types mirror grpc-audit's `MessageShape` (src/rules/message-shape.ts) so that the file
 * imports nothing from grpc-audit; the tests check that the generated shapes are assignable to it.
 */

import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import { fieldKind, fieldsByNumber, reachableMessages, type ValueKind } from "./message-shapes.js";
import { propertyNames } from "./property-names.js";
import type { LocalName } from "./render-ids.js";
import type { IsSensitive } from "./sensitive.js";

/** Name of the local type a shape is declared with. */
const SHAPE_TYPE = "AuditMessageShape";

/** Names of the `const`s holding the shapes of a file, by message type name. */
export type ShapeNames = ReadonlyMap<string, string>;

/**
 * Names the `const` holding the shape of each message: "shape_example_v1_Project". Two type names that
 * differ only in "." versus "_" (`foo_bar.v1.X` and `foo.bar_v1.X`) would get the same name; the later
 * one gets a `$1` suffix (`$` is never in a proto name), so the names are unique and stable.
 */
export function shapeNames(messages: readonly DescMessage[]): ShapeNames {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const message of messages) {
    const base = `shape_${message.typeName.replaceAll(".", "_")}`;
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}$${i}`;
    taken.add(name);
    names.set(message.typeName, name);
  }
  return names;
}

/** The shape names of `roots` and every message below them, in the order `printShapes` prints them. */
export function shapeNamesOf(roots: readonly DescMessage[]): ShapeNames {
  return shapeNames(reachableMessages(roots));
}

/** The name of the shape of `message` in `names`. */
export function shapeName(names: ShapeNames, message: DescMessage): string {
  const name = names.get(message.typeName);
  if (name === undefined) throw new Error(`no shape for ${message.typeName}`);
  return name;
}

/** Prints the shapes of `roots` and every message below them, in the order they are first met. */
export function printShapes(
  f: GeneratedFile,
  roots: readonly DescMessage[],
  names: ShapeNames,
  isSensitive: IsSensitive,
  local: LocalName,
): void {
  for (const message of reachableMessages(roots)) {
    f.print(`/** Shape of ${message.typeName.replaceAll("*/", "*\\/")}, for payload capture. */`);
    f.print(
      "const ",
      local(shapeName(names, message)),
      ": ",
      local(SHAPE_TYPE),
      " = ",
      local("Object"),
      ".freeze({",
    );
    f.print("  typeName: ", f.string(message.typeName), ",");
    const fields = fieldsByNumber(message);
    if (fields.length === 0) f.print("  fields: Object.freeze([]),");
    else {
      f.print("  fields: Object.freeze([");
      for (const field of fields)
        f.print("    Object.freeze({ ", fieldShape(field, names, isSensitive), " }),");
      f.print("  ]),");
    }
    f.print("});");
    f.print();
  }
}

/** The properties of one field's shape, on one line. */
function fieldShape(field: DescField, names: ShapeNames, isSensitive: IsSensitive): string {
  const base = [
    `no: ${field.number}`,
    `name: ${JSON.stringify(field.name)}`,
    `jsonName: ${JSON.stringify(field.jsonName)}`,
    `properties: Object.freeze([${propertyNames(field)
      .map((name) => JSON.stringify(name))
      .join(", ")}])`,
    `sensitive: ${isSensitive(field)}`,
  ];
  const shape = fieldKind(field);
  if (shape.kind === "map") {
    return [
      ...base,
      'kind: "map"',
      `key: ${JSON.stringify(shape.key)}`,
      `value: Object.freeze({ ${valueShape(shape.value, names)} })`,
    ].join(", ");
  }
  // Explicit presence (proto3 `optional`, message fields, proto2) outside a oneof: written when set.
  const optional =
    !shape.repeated && field.oneof === undefined && field.presence !== FeatureSet_FieldPresence.IMPLICIT;
  return [
    ...base,
    valueShape(shape.value, names),
    `repeated: ${shape.repeated}`,
    `optional: ${optional}`,
    `oneof: ${field.oneof === undefined ? "undefined" : JSON.stringify(field.oneof.name)}`,
  ].join(", ");
}

function valueShape(value: ValueKind, names: ShapeNames): string {
  switch (value.kind) {
    case "scalar":
      return `kind: "scalar", scalar: ${JSON.stringify(value.scalar)}`;
    case "enum": {
      // `__proto__: 1` in an object literal sets the prototype; only a computed key makes it a property.
      const values = value.enum.values
        .map((v) => `${v.name === "__proto__" ? '["__proto__"]' : v.name}: ${v.number}`)
        .join(", ");
      return `kind: "enum", values: Object.freeze({ ${values} })`;
    }
    case "message":
      return `kind: "message", message: () => ${shapeName(names, value.message)}`;
    case "wellKnown":
      return `kind: "wellKnown", type: ${JSON.stringify(value.type)}`;
  }
}

/** Prints the types the shapes are declared with: grpc-audit's MessageShape, restated. */
export function printShapeTypes(f: GeneratedFile, local: LocalName): void {
  // Printed through `local`, so that a message type of the same name is imported under an alias.
  const declare = (name: string): Printable => ["type ", local(name), " ="];
  f.print();
  f.print(
    "/** A message's shape for payload capture: grpc-audit's MessageShape, restated so this file imports nothing. */",
  );
  f.print(
    declare(SHAPE_TYPE),
    " { readonly typeName: string; readonly fields: readonly AuditFieldShape[] };",
  );
  f.print();
  f.print(declare("AuditScalarType"));
  const lines: Printable[] = [
    '  | "double" | "float" | "int64" | "uint64" | "int32" | "fixed64" | "fixed32" | "bool"',
    '  | "string" | "bytes" | "uint32" | "sfixed32" | "sfixed64" | "sint32" | "sint64";',
    "",
    ["type ", local("AuditValueShape"), " ="],
    '  | { readonly kind: "scalar"; readonly scalar: AuditScalarType }',
    [
      '  | { readonly kind: "enum"; readonly values: ',
      local("Readonly"),
      "<",
      local("Record"),
      "<string, number>> }",
    ],
    `  | { readonly kind: "message"; readonly message: () => ${SHAPE_TYPE} }`,
    '  | { readonly kind: "wellKnown"; readonly type: AuditWellKnownType };',
    "",
    ["type ", local("AuditWellKnownType"), " ="],
    '  | "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.DoubleValue"',
    '  | "google.protobuf.FloatValue" | "google.protobuf.Int64Value" | "google.protobuf.UInt64Value"',
    '  | "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" | "google.protobuf.BoolValue"',
    '  | "google.protobuf.StringValue" | "google.protobuf.BytesValue" | "google.protobuf.Empty";',
    "",
    ["type ", local("AuditFieldShape"), " = {"],
    "  readonly no: number;",
    "  readonly name: string;",
    "  readonly jsonName: string;",
    "  readonly properties: readonly string[];",
    "  readonly sensitive: boolean;",
    "} & (",
    "  | (AuditValueShape & {",
    "      readonly repeated: boolean;",
    "      readonly optional: boolean;",
    "      readonly oneof: string | undefined;",
    "    })",
    '  | { readonly kind: "map"; readonly key: AuditScalarType; readonly value: AuditValueShape }',
    ");",
  ];
  for (const line of lines) f.print(line);
}
