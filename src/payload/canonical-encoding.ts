import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { MessageShape, ScalarType, ValueShape } from "../rules/message-shape.js";
import { sortByKey } from "./key-order.js";
import { type PayloadProblems, type ReadMessage, type ReadValue, readMessage } from "./read-message.js";
import type { Scalar } from "./scalars.js";
import { checkShape } from "./shape-argument.js";

/**
 * The canonical protobuf encoding of `message` read by `shape` with every sensitive field left out:
 * the same bytes for the same redacted content, whichever loader decoded the message. Fields in
 * field-number order; fields at their default left out unless they have explicit presence, and at a
 * declared default (the shape's `default`) always; repeated numbers and enums packed unless the shape
 * says `packed: false`, repeated strings, bytes and messages one record per element; map entries
 * sorted by key (strings by UTF-8 bytes, integers by value, false before true), each entry writing
 * its key and value; nested messages length-delimited in the same form, groups (`delimited`) between
 * group tags. For a message without maps these are the bytes ts-proto's `encode(...).finish()` writes.
 * The exact rules are in docs/payload-capture.md. Never throws for the message: values of the wrong
 * type are left out and counted in `problems` when given. A `shape` that is not a MessageShape is an
 * AuditInputError.
 */
export function encodeCanonical(
  shape: MessageShape,
  message: unknown,
  problems?: PayloadProblems,
): Uint8Array {
  checkShape("encodeCanonical", shape);
  const writer = new BinaryWriter();
  writeMessage(writer, readMessage(shape, message, problems ?? { count: 0, first: [] }));
  return writer.finish();
}

function writeMessage(writer: BinaryWriter, message: ReadMessage): void {
  for (const read of message.fields) {
    const { field } = read;
    if ("single" in read) writeValue(writer, field.no, read.field, read.single);
    else if ("list" in read) {
      if (packs(read.field)) {
        // Packed: one length-delimited record of the bare values.
        writer.tag(field.no, WireType.LengthDelimited).fork();
        for (const value of read.list) writeBare(writer, scalarType(read.field), value as Scalar);
        writer.join();
      } else for (const value of read.list) writeValue(writer, field.no, read.field, value);
    } else {
      const keyType = read.field.key;
      for (const [key, value] of sortByKey(read.entries)) {
        writer.tag(field.no, WireType.LengthDelimited).fork();
        writeValue(writer, 1, { kind: "scalar", scalar: keyType }, key);
        writeValue(writer, 2, read.field.value, value);
        writer.join();
      }
    }
  }
}

/**
 * Whether a list is written packed: numbers and enums unless the shape says `packed: false`. Strings,
 * bytes and messages never are (protobuf cannot pack length-delimited values): one record each.
 */
function packs(shape: ValueShape & { readonly packed?: boolean }): boolean {
  if (shape.packed === false) return false;
  return (
    shape.kind === "enum" ||
    (shape.kind === "scalar" && shape.scalar !== "string" && shape.scalar !== "bytes")
  );
}

/**
 * One tagged value: a scalar with its wire type, or a nested message length-delimited (a group's
 * between start and end group tags).
 */
function writeValue(
  writer: BinaryWriter,
  no: number,
  shape: ValueShape & { readonly delimited?: boolean },
  value: ReadValue,
): void {
  if (typeof value === "object" && !(value instanceof Uint8Array)) {
    if (shape.delimited === true) {
      writer.tag(no, WireType.StartGroup);
      writeMessage(writer, value);
      writer.tag(no, WireType.EndGroup);
      return;
    }
    writer.tag(no, WireType.LengthDelimited).fork();
    writeMessage(writer, value);
    writer.join();
    return;
  }
  const type = scalarType(shape);
  writer.tag(no, WIRE_TYPES[type]);
  writeBare(writer, type, value);
}

/** The scalar type a value shape is written as: enums are int32 varints. */
function scalarType(shape: ValueShape): ScalarType {
  return shape.kind === "scalar" ? shape.scalar : "int32";
}

const WIRE_TYPES: Readonly<Record<ScalarType, WireType>> = {
  double: WireType.Bit64,
  float: WireType.Bit32,
  int64: WireType.Varint,
  uint64: WireType.Varint,
  int32: WireType.Varint,
  fixed64: WireType.Bit64,
  fixed32: WireType.Bit32,
  bool: WireType.Varint,
  string: WireType.LengthDelimited,
  bytes: WireType.LengthDelimited,
  uint32: WireType.Varint,
  sfixed32: WireType.Bit32,
  sfixed64: WireType.Bit64,
  sint32: WireType.Varint,
  sint64: WireType.Varint,
};

/** A scalar without its tag. Values were checked and converted by the reader (see `toScalar`). */
function writeBare(writer: BinaryWriter, type: ScalarType, value: Scalar): void {
  switch (type) {
    case "double":
      writer.double(value as number);
      return;
    case "float":
      writer.float(value as number);
      return;
    case "int32":
      writer.int32(value as number);
      return;
    case "sint32":
      writer.sint32(value as number);
      return;
    case "sfixed32":
      writer.sfixed32(value as number);
      return;
    case "uint32":
      writer.uint32(value as number);
      return;
    case "fixed32":
      writer.fixed32(value as number);
      return;
    case "int64":
      writer.int64(value as bigint);
      return;
    case "sint64":
      writer.sint64(value as bigint);
      return;
    case "sfixed64":
      writer.sfixed64(value as bigint);
      return;
    case "uint64":
      writer.uint64(value as bigint);
      return;
    case "fixed64":
      writer.fixed64(value as bigint);
      return;
    case "bool":
      writer.bool(value as boolean);
      return;
    case "string":
      writer.string(value as string);
      return;
    case "bytes":
      writer.bytes(value as Uint8Array);
  }
}
