/**
 * The shape of a protobuf message as protoc-gen-grpc-audit generates it for payload capture: every field
 * with its number, names, type and whether it is sensitive. The payload module walks a message by its
 * shape to leave out sensitive fields (wherever they are nested), to write the redacted copy as proto3
 * JSON and to encode it canonically for a keyed digest, whichever loader decoded the message (ts-proto's
 * classes, @grpc/proto-loader objects with either field-name style).
 */
export interface MessageShape {
  /** Full protobuf name, such as "example.v1.Project". */
  readonly typeName: string;
  /** The fields, in field-number order. */
  readonly fields: readonly FieldShape[];
}

/** Scalar protobuf types, as descriptor.proto names them (without `TYPE_`, lowercased). */
export type ScalarType =
  | "double"
  | "float"
  | "int64"
  | "uint64"
  | "int32"
  | "fixed64"
  | "fixed32"
  | "bool"
  | "string"
  | "bytes"
  | "uint32"
  | "sfixed32"
  | "sfixed64"
  | "sint32"
  | "sint64";

/**
 * Well-known types a payload may hold, each with the JavaScript forms loaders give it: Timestamp (a Date
 * or `{ seconds, nanos }`), Duration (`{ seconds, nanos }`), the wrappers (the bare value or
 * `{ value }`) and Empty. Other google.protobuf types (Any, Struct, Value, ListValue, FieldMask) make
 * the plugin fail the build for a rule that captures payloads.
 */
export type WellKnownType =
  | "google.protobuf.Timestamp"
  | "google.protobuf.Duration"
  | "google.protobuf.DoubleValue"
  | "google.protobuf.FloatValue"
  | "google.protobuf.Int64Value"
  | "google.protobuf.UInt64Value"
  | "google.protobuf.Int32Value"
  | "google.protobuf.UInt32Value"
  | "google.protobuf.BoolValue"
  | "google.protobuf.StringValue"
  | "google.protobuf.BytesValue"
  | "google.protobuf.Empty";

/** What one value (a singular or repeated field's element, or a map's value) holds. */
export type ValueShape =
  | { readonly kind: "scalar"; readonly scalar: ScalarType }
  /** `values`: each enum value's number by name (ts-proto's string enums and proto-loader's names). */
  | { readonly kind: "enum"; readonly values: Readonly<Record<string, number>> }
  /** A function, so that recursive messages can refer to themselves. */
  | { readonly kind: "message"; readonly message: () => MessageShape }
  | { readonly kind: "wellKnown"; readonly type: WellKnownType };

/** The parts every field has, whatever it holds. */
interface FieldBase {
  /** Field number. */
  readonly no: number;
  /** Name in the .proto file, such as "owner_id" (proto-loader's `keepCase` property). */
  readonly name: string;
  /** The proto3 JSON key, such as "ownerId" (a `json_name` option changes it): the key it is captured under. */
  readonly jsonName: string;
  /**
   * The JavaScript properties a loader keeps the field under, in the order they are tried: ts-proto's
   * name, the .proto name (proto-loader `keepCase`), protobuf.js camelCase (proto-loader's default).
   * Never the JSON name as such (ts-proto's `useJsonName` is not supported), and a sensitive field's
   * JSON name is never read for another field. Absent in rule tables generated before it existed: then
   * the camelCase and the .proto name.
   */
  readonly properties?: readonly string[];
  /**
   * Marked `(grpcaudit.v1.field).sensitive`, `debug_redact`, or a custom enum option whose value is
   * marked `debug_redact`: never captured.
   */
  readonly sensitive: boolean;
}

/**
 * One field. A map field has `kind: "map"`; any other field is a value shape with its cardinality:
 * `repeated`, `optional` (written when set, even at the zero value: proto3 `optional` and message
 * fields, and a field with a `default`) and `oneof` (the name of the oneof it belongs to; ts-proto keeps
 * a oneof as `{ $case, value }` under that name). A proto2 scalar is not `optional` without a declared
 * default: ts-proto cannot tell it absent from set to its default. Fields of files that are not proto3
 * may say more about how they are encoded: `default`, `packed`, `delimited`.
 */
export type FieldShape = FieldBase &
  (
    | (ValueShape & {
        readonly repeated: boolean;
        readonly optional: boolean;
        readonly oneof: string | undefined;
        /**
         * A scalar's or enum's default other than the zero value (proto2's `[default = …]`, or the
         * first value of an enum without 0), as ts-proto fills it in: the canonical encoding leaves
         * the field out when it holds it, as ts-proto's encode does. A 64-bit integer as a decimal
         * string. Default: none (only a field without `optional` is left out, at the zero value).
         */
        readonly default?: number | string | boolean;
        /**
         * False for a repeated scalar or enum written one record per element, as ts-proto writes
         * lists of proto2 files without `[packed = true]` and proto3 lists with `[packed = false]`.
         * Default: true (one length-delimited record of the bare values).
         */
        readonly packed?: boolean;
        /**
         * True for a proto2 group: its message is written between a start-group and an end-group
         * tag instead of length-delimited. Default: false.
         */
        readonly delimited?: boolean;
      })
    | {
        readonly kind: "map";
        readonly key: ScalarType;
        readonly value: ValueShape;
      }
  );
