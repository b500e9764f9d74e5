/**
 * Prints the message shapes of one output file (those `planShapes` places there): one frozen `const` per
 * message type, shared by every rule of the run that reaches it, and the types they are declared with.
 * A shape printed in another output is imported from it. The types mirror grpc-audit's `MessageShape`
 * (src/rules/message-shape.ts) so that the file imports nothing from grpc-audit; the tests check that the
 * generated shapes are assignable to it.
 */

import type { DescField, DescFile, DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import { fieldKind, fieldsByNumber, type ValueKind } from "./message-shapes.js";
import type { ShapePlan } from "./place-shapes.js";
import { propertyNames } from "./property-names.js";
import type { LocalName } from "./render-ids.js";
import type { IsSensitive } from "./sensitive.js";
import { wireForm } from "./wire-form.js";

/** Name of the local type a shape is declared with. */
const SHAPE_TYPE = "AuditMessageShape";

/** How the output being printed refers to the shape of a message: its own `const`, or an import. */
export type ShapeRef = (message: DescMessage) => Printable;

/**
 * Prints the shapes `plan` places in the output of `file`, exporting those another output imports.
 * Returns whether one of them needs the field properties only files that are not proto3 use
 * (`printShapeTypes`' `wireMembers`).
 */
export function printShapes(
  f: GeneratedFile,
  file: DescFile,
  plan: ShapePlan,
  ref: ShapeRef,
  isSensitive: IsSensitive,
  local: LocalName,
): boolean {
  const printed = plan.printed(file);
  for (const message of printed) {
    const { name } = plan.locate(message, file);
    f.print(`/** Shape of ${message.typeName.replaceAll("*/", "*\\/")}, for payload capture. */`);
    f.print(
      plan.exported(message) ? f.export("const", name) : ["const ", local(name)],
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
        f.print("    Object.freeze({ ", fieldShape(field, ref, isSensitive), " }),");
      f.print("  ]),");
    }
    f.print("});");
    f.print();
  }
  return printed.some(hasWireMembers);
}

/** The properties of one field's shape, on one line. */
function fieldShape(field: DescField, ref: ShapeRef, isSensitive: IsSensitive): Printable[] {
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
      ["value: Object.freeze({ ", valueShape(shape.value, ref), " })"],
    ].flatMap(separated);
  }
  const wire = wireForm(field);
  return [
    ...base,
    valueShape(shape.value, ref),
    `repeated: ${shape.repeated}`,
    `optional: ${wire.optional}`,
    `oneof: ${field.oneof === undefined ? "undefined" : JSON.stringify(field.oneof.name)}`,
    // Only where they differ from proto3's defaults, so that proto3 shapes stay as they were.
    ...(wire.default === undefined ? [] : [`default: ${wire.default}`]),
    ...(wire.packed ? [] : ["packed: false"]),
    ...(wire.delimited ? ["delimited: true"] : []),
  ].flatMap(separated);
}

/** Whether a field shape of `message` prints a property of WIRE_MEMBERS. */
function hasWireMembers(message: DescMessage): boolean {
  return message.fields.some((field) => {
    if (field.fieldKind === "map") return false;
    const wire = wireForm(field);
    return wire.default !== undefined || !wire.packed || wire.delimited;
  });
}

/** The field shape properties printed only where used, as AuditFieldShape declares them. */
const WIRE_MEMBERS = [
  "      readonly default?: number | string | boolean;",
  "      readonly packed?: boolean;",
  "      readonly delimited?: boolean;",
];

/** Each property after the first with ", " before it, for `flatMap`. */
function separated(property: Printable, i: number): Printable[] {
  return i === 0 ? [property] : [", ", property];
}

function valueShape(value: ValueKind, ref: ShapeRef): Printable {
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
      return ['kind: "message", message: () => ', ref(value.message)];
    case "wellKnown":
      return `kind: "wellKnown", type: ${JSON.stringify(value.type)}`;
  }
}

/**
 * Prints the types the shapes are declared with: grpc-audit's MessageShape, restated; `AuditMessageShape`
 * exported when `exportShapeType`; a field's `default`, `packed` and `delimited` when `wireMembers`.
 */
export function printShapeTypes(
  f: GeneratedFile,
  local: LocalName,
  exportShapeType: boolean,
  wireMembers: boolean,
): void {
  // Printed through `local`, so that a message type of the same name is imported under an alias.
  const declare = (name: string): Printable => ["type ", local(name), " ="];
  f.print();
  f.print(
    "/** A message's shape for payload capture: grpc-audit's MessageShape, restated so this file imports nothing. */",
  );
  // Exported beside exported shapes: a table elsewhere holding one has this type, and declaration
  // emit (tsc `declaration`) must be able to name it there.
  f.print(
    exportShapeType ? [f.export("type", SHAPE_TYPE), " ="] : declare(SHAPE_TYPE),
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
    ...(wireMembers ? WIRE_MEMBERS : []),
    "    })",
    '  | { readonly kind: "map"; readonly key: AuditScalarType; readonly value: AuditValueShape }',
    ");",
  ];
  for (const line of lines) f.print(line);
}
