/**
 * How a field that is not a map is written in grpc-audit's canonical encoding: when it counts as set,
 * and how a list or a message is framed. The rules are ts-proto's `encode`, so that a digest does not
 * depend on the loader and `Message.encode(cleared).finish()` reproduces it: ts-proto gives an absent
 * scalar outside a oneof and without proto3 `optional` its default (in proto2 the declared one, else the
 * zero value), whatever its presence, and never writes it at that default; so no loader can tell such
 * a scalar absent from set to its default, and neither does the digest.
 */
import { type DescField, ScalarType } from "@bufbuild/protobuf";
import { Edition, FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt";

/** The properties of a field shape that say how it is written, printed as TypeScript literals. */
export interface WireForm {
  /** Written when set, even at the zero value. */
  readonly optional: boolean;
  /** The default the field is not written at, beyond the zero value; undefined when it has none. */
  readonly default: string | undefined;
  /** False for a list of numbers or enums written one record per element. */
  readonly packed: boolean;
  /** True for a group: written between start and end group tags. */
  readonly delimited: boolean;
}

/** How `field` (not a map) is written. */
export function wireForm(field: DescField): WireForm {
  const proto3 = proto3Rules(field);
  const delimited =
    (field.fieldKind === "message" || field.fieldKind === "list") &&
    field.proto.type === FieldDescriptorProto_Type.GROUP;
  if (field.fieldKind === "list") {
    // ts-proto packs by the option alone, else by proto3Rules (not by editions' features).
    const packable = field.listKind === "enum" || (field.listKind === "scalar" && isNumeric(field.scalar));
    const packed = !packable || (field.proto.options?.packed ?? proto3);
    return { optional: false, default: undefined, packed, delimited };
  }
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "enum";
  if (scalar && field.oneof === undefined && !field.proto.proto3Optional) {
    // Written when it is not its default, as ts-proto's encode checks, whatever its presence.
    const fallback = declaredDefault(field, proto3);
    return { optional: fallback !== undefined, default: fallback, packed: true, delimited };
  }
  // proto3 `optional` and message fields outside a oneof: written when set.
  return { optional: field.oneof === undefined, default: undefined, packed: true, delimited };
}

/**
 * Whether ts-proto writes the file of `field` as proto3 (declared defaults ignored, lists packed):
 * proto3, and editions 2023 and 2024 (ts-proto's `isProto3Syntax`).
 */
function proto3Rules(field: DescField): boolean {
  const { syntax, edition } = field.parent.file.proto;
  if (syntax === "proto3") return true;
  if (syntax === "proto2") return false;
  return (
    edition === Edition.EDITION_PROTO3 || edition === Edition.EDITION_2023 || edition === Edition.EDITION_2024
  );
}

/**
 * The default of a scalar or enum field other than the zero value, as a TypeScript literal: its
 * `[default = …]`, or an enum's first value when it has no 0 (ts-proto's choice, and protobuf's).
 * 64-bit integers as decimal strings; bytes never (ts-proto ignores their declared default).
 */
function declaredDefault(field: DescField, proto3: boolean): string | undefined {
  if (field.fieldKind === "enum") {
    const declared = proto3 ? undefined : field.getDefaultValue();
    const values = field.enum.values;
    const number = declared ?? (values.some((v) => v.number === 0) ? 0 : (values[0]?.number ?? 0));
    return number === 0 ? undefined : String(number);
  }
  if (field.fieldKind !== "scalar" || proto3) return undefined;
  const value = field.getDefaultValue();
  switch (typeof value) {
    case "number":
      // Written without globals, which a message type of the same name would shadow.
      if (Number.isNaN(value)) return "0 / 0";
      if (!Number.isFinite(value)) return value > 0 ? "1 / 0" : "-1 / 0";
      return value === 0 ? undefined : String(value);
    case "bigint":
      return value === 0n ? undefined : JSON.stringify(String(value));
    case "string":
      // A 64-bit integer with `jstype = JS_STRING` comes as a string too.
      if (!isNumeric(field.scalar)) return value === "" ? undefined : JSON.stringify(value);
      return BigInt(value) === 0n ? undefined : JSON.stringify(String(BigInt(value)));
    case "boolean":
      return value ? "true" : undefined;
    default:
      return undefined;
  }
}

/** Every scalar type but string and bytes: those protobuf packs. */
function isNumeric(scalar: ScalarType): boolean {
  return scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES;
}
