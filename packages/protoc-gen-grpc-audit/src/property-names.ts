/**
 * The property names one proto field can have at runtime, so that generated id readers work whichever
 * loader decoded the message: ts-proto (`member_id` → `memberId`), `@grpc/proto-loader` with
 * `keepCase: true` (the proto name, `member_id`) and proto-loader's default (protobuf.js camelCase,
 * `memberId`; it differs from ts-proto's for names such as `OWNER_ID` or `calendar_Id`). A proto2
 * group has one more: protobuf.js names it after the group, not after the field (`OwnerInfo` →
 * `ownerInfo`, where protoc and ts-proto say `ownerinfo`).
 */
import type { DescField } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt";
import { maybeSnakeToCamel, tsProtoPropertyName } from "./ts-proto-names.js";

/**
 * The field's distinct property names: ts-proto's first, then the proto name, then protobuf.js camelCase,
 * then protobuf.js's name of a proto2 group. Never `__proto__`: reading it gives an object's prototype
 * (an absent field would read as Object.prototype, "[object Object]" as an integer id), and no loader
 * can store a field under it as a plain property; ts-proto's name for a field `__proto__` is `Proto`.
 */
export function propertyNames(field: DescField): readonly string[] {
  const names = new Set([tsProtoPropertyName(field), field.name, protobufJsCamelCase(field.name)]);
  if (field.proto.type === FieldDescriptorProto_Type.GROUP && field.message !== undefined) {
    names.add(protobufJsGroupName(field.message.name));
  }
  names.delete("__proto__");
  return [...names];
}

/** A property name one field shares with another member of its message, and what that member is. */
export interface SharedName {
  readonly name: string;
  /** `field "ownerId"`, or `oneof "owner_ref"` (proto-loader with `oneofs: true` and ts-proto keep a oneof under its name). */
  readonly other: string;
}

/**
 * The first property name `field` shares with another field or a oneof of its message. A loader keeps
 * each member under one of its names, so a name two members share may hold the other one's value:
 * ts-proto names a field `API_KEY` `apiKey`, proto-loader keeps a field `apiKey` beside it as `apiKey`,
 * and buf accepts both in one proto3 message (their JSON names differ); proto2 accepts `owner_id`
 * beside `ownerId`. Undefined when the field's names are its own.
 */
export function sharedPropertyName(field: DescField): SharedName | undefined {
  const names = new Set(propertyNames(field));
  for (const other of field.parent.fields) {
    if (other === field) continue;
    const name = propertyNames(other).find((n) => names.has(n));
    if (name !== undefined) return { name, other: `field "${other.name}"` };
  }
  // From the descriptor, so that synthetic oneofs (proto3 `optional`) count: proto-loader keeps those
  // too, under their names; ts-proto only real ones, under its camelCase name.
  const real = new Set(field.parent.oneofs.map((oneof) => oneof.name));
  for (const { name: oneof } of field.parent.proto.oneofDecl) {
    const loaderNames = [oneof, protobufJsCamelCase(oneof)];
    const all = real.has(oneof) ? [maybeSnakeToCamel(oneof), ...loaderNames] : loaderNames;
    const name = all.find((n) => names.has(n));
    if (name !== undefined) return { name, other: `oneof "${oneof}"` };
  }
  return undefined;
}

/**
 * protobuf.js `util.camelCase` (protobufjs 7, src/util.js), which proto-loader applies unless
 * `keepCase` is set: the first character stays, and every "_" followed by a lowercase letter becomes
 * that letter in uppercase.
 */
function protobufJsCamelCase(name: string): string {
  return name.charAt(0) + name.slice(1).replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * protobuf.js's property name of a proto2 group (protobufjs 7, src/parse.js `parseGroup`): the group's
 * name with its first letter lowercased, whatever `keepCase` says, where protoc lowercases it whole.
 */
function protobufJsGroupName(group: string): string {
  return group.charAt(0).toLowerCase() + group.slice(1);
}
