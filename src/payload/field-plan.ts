import type { FieldShape, MessageShape } from "../rules/message-shape.js";

/**
 * One field a message is read for, with the properties it is read from: its own property names but
 * those another field of the message may be kept under. A sensitive field's names are never read for
 * another field: ts-proto names a field `API_KEY` `apiKey`, the name under which proto-loader keeps
 * a sensitive field `apiKey` of the same message (buf accepts both, their JSON names differ), so
 * `API_KEY` read from `apiKey` would capture the sensitive value; nor is a sensitive field's JSON name
 * (ts-proto's `useJsonName` keeps it there). Nor is another field's .proto name
 * (its property under proto-loader's `keepCase`), whose value is that field's.
 * @internal
 */
export interface FieldPlan {
  readonly field: FieldShape;
  /** The properties tried, in order. */
  readonly names: readonly string[];
  /** True when every property name of the field is shared: it is never read, and a value there is reported. */
  readonly unreadable: boolean;
  /** For a oneof member: the sensitive members of its oneof, each with the properties it may be under. */
  readonly sensitiveRivals: readonly { readonly name: string; readonly names: readonly string[] }[];
}

const plans = new WeakMap<MessageShape, readonly FieldPlan[]>();
/** Shapes with a field read as a oneof member: only their messages need the oneofs' state. */
const withOneofs = new WeakSet<MessageShape>();

/**
 * The fields read from a message of `shape`: every field but the sensitive ones, with their
 * properties; made once per shape.
 * @internal
 */
export function planOf(shape: MessageShape): readonly FieldPlan[] {
  let plan = plans.get(shape);
  if (plan !== undefined) return plan;
  // With its JSON name: ts-proto's `useJsonName` keeps a sensitive field under it, which may be another
  // field's property (a `json_name` option may name any field).
  const sensitiveNames = new Set(
    shape.fields.filter((f) => f.sensitive).flatMap((f) => [...propertiesOf(f), f.jsonName]),
  );
  const protoNames = new Set(shape.fields.map((f) => f.name));
  plan = shape.fields
    .filter((field) => !field.sensitive)
    .map((field) => {
      const all = propertiesOf(field);
      const names = all.filter(
        (name) => !sensitiveNames.has(name) && (name === field.name || !protoNames.has(name)),
      );
      const oneof = oneofOf(field);
      const sensitiveRivals = shape.fields
        .filter((f) => f.sensitive && oneof !== undefined && oneofOf(f) === oneof)
        .map((f) => ({ name: f.name, names: propertiesOf(f).filter((n) => !names.includes(n)) }));
      return {
        field,
        names: names.length === 0 ? all : names,
        unreadable: names.length === 0,
        sensitiveRivals,
      };
    });
  plans.set(shape, plan);
  if (plan.some(({ field }) => oneofOf(field) !== undefined)) withOneofs.add(shape);
  return plan;
}

/**
 * True when a message of `shape` has a field read as a oneof member (not a map, not proto3 `optional`);
 * known once planOf(shape) ran. Lets the reader skip the oneofs' state for the many messages without.
 * @internal
 */
export function hasOneofMembers(shape: MessageShape): boolean {
  return withOneofs.has(shape);
}

/** Property names of fields of rule tables generated without them (see `FieldShape.properties`). */
const legacyProperties = new WeakMap<FieldShape, readonly string[]>();

function propertiesOf(field: FieldShape): readonly string[] {
  if (field.properties !== undefined) return field.properties;
  let names = legacyProperties.get(field);
  if (names === undefined) {
    names = [...new Set([camelCase(field.name), field.name])];
    legacyProperties.set(field, names);
  }
  return names;
}

/** The oneof a field is a member of; undefined for a map, a proto3 `optional` field or none. */
function oneofOf(field: FieldShape): string | undefined {
  return field.kind === "map" || field.optional ? undefined : field.oneof;
}

/** protobuf's lowerCamelCase of a .proto name (`owner_id` → `ownerId`). @internal */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}
