/**
 * The property names one proto field can have at runtime, so that generated id readers work whichever
 * loader decoded the message: ts-proto (`member_id` → `memberId`), `@grpc/proto-loader` with
 * `keepCase: true` (the proto name, `member_id`) and proto-loader's default (protobuf.js camelCase,
 * `memberId`; it differs from ts-proto's for names such as `OWNER_ID` or `calendar_Id`).
 */
import type { DescField } from "@bufbuild/protobuf";
import { tsProtoPropertyName } from "./ts-proto-names.js";

/**
 * The field's distinct property names: ts-proto's first, then the proto name, then protobuf.js camelCase.
 * Never `__proto__`: reading it gives an object's prototype (an absent field would read as
 * Object.prototype, "[object Object]" as an integer id), and no loader can store a field under it as a
 * plain property; ts-proto's name for a field `__proto__` is `Proto`.
 */
export function propertyNames(field: DescField): readonly string[] {
  const names = new Set([tsProtoPropertyName(field), field.name, protobufJsCamelCase(field.name)]);
  names.delete("__proto__");
  return [...names];
}

/**
 * protobuf.js `util.camelCase` (protobufjs 7, src/util.js), which proto-loader applies unless
 * `keepCase` is set: the first character stays, and every "_" followed by a lowercase letter becomes
 * that letter in uppercase.
 */
function protobufJsCamelCase(name: string): string {
  return name.charAt(0) + name.slice(1).replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
