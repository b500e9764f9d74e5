import { camelCase } from "./field-plan.js";
import { type Path, type PayloadProblems, report, type Step } from "./read-problems.js";

/**
 * A message's fields as the reader finds them on a loader's object: under a field's property names,
 * never under what every object inherits, and oneof members under each loader's form.
 */

/** A message object of any loader, read by property name. @internal */
export type Fields = Record<string, unknown>;

/**
 * The value of `field` when it is the member its oneof holds. ts-proto keeps a oneof as
 * `{ $case, value }` under the oneof's name; @grpc/proto-loader keeps members as plain fields and, with
 * `oneofs: true`, the set member's name under the oneof's name.
 * @internal
 */
export function oneofMember(
  object: Fields,
  oneof: string,
  names: readonly string[],
  problems: PayloadProblems,
  path: Path,
  step: Step,
): { value: unknown; plain: boolean } | undefined {
  const holder = ownValue(object, oneof) ?? ownValue(object, camelCase(oneof)) ?? tsProtoUnion(object, oneof);
  if (isUnion(holder)) {
    const { $case, value } = holder;
    if (!names.includes($case as string)) return undefined;
    if (value === undefined || value === null) {
      report(problems, path, step, "oneof member without a value");
      return undefined;
    }
    return { value, plain: false };
  }
  if (typeof holder === "string" && !names.includes(holder)) return undefined;
  const value = property(object, names);
  return value === undefined || value === null ? undefined : { value, plain: true };
}

/**
 * ts-proto's `{ $case, value }` under its own name for the oneof (`OWNER_REF` → `ownerRef`,
 * `target_Kind` → `targetKind`), which neither the .proto name nor protobuf's camelCase gives; only
 * such an object, so that a plain field of that name is never taken for the oneof.
 */
function tsProtoUnion(object: Fields, oneof: string): unknown {
  const holder = ownValue(object, tsProtoName(oneof));
  return isUnion(holder) ? holder : undefined;
}

function isUnion(holder: unknown): holder is { $case: unknown; value: unknown } {
  return typeof holder === "object" && holder !== null && "$case" in holder;
}

/** ts-proto's `maybeSnakeToCamel`: all-caps names are lowercased first, other words keep their case. */
function tsProtoName(name: string): string {
  if (!name.includes("_")) return name;
  const lower = /[a-z]/.test(name) ? name : name.toLowerCase();
  return lower
    .split("_")
    .map((word, i) => (i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join("");
}

/** The value under the first of a field's property names (see FieldPlan) that holds one. @internal */
export function property(object: Fields, names: readonly string[]): unknown {
  for (const name of names) {
    const value = ownValue(object, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

const OBJECT_MEMBERS = Object.prototype as unknown as Fields;

/**
 * `object[name]`, but not what every object inherits: a field `to_string` is tried as `toString` first
 * (ts-proto's name), and a keepCase object would answer with Object.prototype's method.
 */
function ownValue(object: Fields, name: string): unknown {
  const value = object[name];
  return value !== undefined && value === OBJECT_MEMBERS[name] && !Object.hasOwn(object, name)
    ? undefined
    : value;
}

/** True for a value that is there: not undefined nor null. @internal */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}
