import type { FieldShape, MessageShape, ScalarType, ValueShape } from "../rules/message-shape.js";
import { type FieldPlan, hasOneofMembers, planOf } from "./field-plan.js";
import { inKeyOrder } from "./key-order.js";
import { type Fields, isSet, oneofMember, property } from "./message-properties.js";
import { type ReadBudget, valueChars } from "./read-budget.js";
import {
  invalid,
  invalidField,
  MAP_VALUE,
  type Path,
  type PayloadProblems,
  report,
  type Step,
  typeName,
} from "./read-problems.js";
import {
  bytesHead,
  INVALID,
  isDeclaredDefault,
  isDefault,
  type Scalar,
  toEnum,
  toMapKey,
  toScalar,
} from "./scalars.js";
import { wellKnownMessage, wellKnownShape } from "./well-known.js";

export type { ReadBudget } from "./read-budget.js";
export type { PayloadProblems } from "./read-problems.js";

/**
 * A message read by its shape into one loader-independent form, every sensitive field left out: the
 * fields that are set, in field-number order, each value converted (see `Scalar`). Both the proto3
 * JSON and the canonical encoding are written from it, so they always leave out the same fields.
 * @internal
 */
export interface ReadMessage {
  readonly shape: MessageShape;
  readonly fields: readonly ReadField[];
}

/** One set field of a ReadMessage. @internal */
export type ReadField =
  | { readonly field: FieldShape & ValueShape; readonly single: ReadValue }
  | { readonly field: FieldShape & ValueShape; readonly list: readonly ReadValue[] }
  | {
      readonly field: FieldShape & { kind: "map"; value: ValueShape };
      readonly entries: readonly (readonly [Scalar, ReadValue])[];
    };

/** A value: a scalar (an enum as its number) or a nested message. @internal */
export type ReadValue = Scalar | ReadMessage;

/** Deepest nesting read, as protobuf's own recursion limit; deeper messages (or cycles) are skipped. */
export const MAX_DEPTH = 100;

/**
 * Reads `message` by `shape`, leaving out sensitive fields. Never throws: a value of the wrong type,
 * a getter that throws or a nesting deeper than MAX_DEPTH is skipped and added to `problems`. With a
 * `budget`, reads only as far as the budget goes (see ReadBudget); problems are found in what is read.
 * @internal
 */
export function readMessage(
  shape: MessageShape,
  message: unknown,
  problems: PayloadProblems,
  budget?: ReadBudget,
): ReadMessage {
  return read(shape, message, problems, undefined, 0, new Set(), budget);
}

/**
 * The messages being read around the current one, from the top: a message that holds itself (a cycle,
 * which no decoded message has and no encoder can write) is skipped where it comes back. Without this
 * a cycle through a repeated field would be read 2^MAX_DEPTH times, blocking the process.
 */
type Ancestors = Set<object>;

/** The oneofs of a message already settled: a member read, or the oneof left out. */
type Oneofs = Map<string, "read" | "left out">;

function read(
  shape: MessageShape,
  message: unknown,
  problems: PayloadProblems,
  path: Path,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadMessage {
  const fields: ReadField[] = [];
  const at = path === undefined ? { up: undefined, step: shape.typeName } : path;
  try {
    if (typeof message !== "object" || message === null || message instanceof Uint8Array) {
      report(problems, at, undefined, `not a message object (${typeName(message)})`);
      return { shape, fields };
    }
  } catch {
    // instanceof asks a Proxy's getPrototypeOf trap, which may throw (or the Proxy was revoked).
    report(problems, at, undefined, "could not be read (a getter or Proxy trap threw)");
    return { shape, fields };
  }
  if (depth >= MAX_DEPTH) {
    report(problems, path, undefined, `nested deeper than ${MAX_DEPTH} messages`);
    return { shape, fields };
  }
  if (ancestors.has(message)) {
    report(problems, path, undefined, "holds a message it is nested in (a cycle)");
    return { shape, fields };
  }
  ancestors.add(message);
  const object = message as Fields;
  const plans = planOf(shape);
  // Most messages have no oneof: a Map for each of them was a tenth of a large message's reading time.
  const oneofs: Oneofs | undefined = hasOneofMembers(shape) ? new Map() : undefined;
  // A well-known type (a method may take or return one) is small and has a JSON form of its own,
  // shorter than its fields': read whole, then charged (its bytes still decoded only as shown).
  const counted =
    budget === undefined || !shape.typeName.startsWith("google.protobuf.")
      ? budget
      : { left: Number.POSITIVE_INFINITY, chars: budget.chars };
  if (counted !== undefined) counted.left -= 1; // "{"
  for (const plan of plans) {
    if (counted !== undefined && counted.left < 0) break;
    try {
      const read = readField(object, plan, oneofs, problems, path, depth, ancestors, counted);
      if (read !== undefined) {
        fields.push(read);
        if (counted !== undefined) counted.left -= fieldChars(read);
      }
    } catch {
      report(problems, path, plan.field.name, "could not be read (a getter or Proxy trap threw)");
    }
  }
  ancestors.delete(message);
  // Read whole, a well-known type is charged once read: what its JSON shows of its value, at least.
  if (counted !== budget && budget !== undefined) budget.left -= wellKnownChars(fields);
  return { shape, fields };
}

/** Fewest JSON characters of a well-known type's own form: a wrapper's bare value, say a long string. */
function wellKnownChars(fields: readonly ReadField[]): number {
  let chars = 0;
  for (const read of fields) if ("single" in read) chars += valueChars(read.single);
  return Math.max(chars, 1);
}

function readField(
  object: Fields,
  plan: FieldPlan,
  oneofs: Oneofs | undefined,
  problems: PayloadProblems,
  path: Path,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadField | undefined {
  if (!plan.unreadable) return readNamed(object, plan, oneofs, problems, path, depth, ancestors, budget);
  // Its value cannot be told from another field's: left out, and said so when it would have been
  // captured (a value at its default, as proto-loader's `defaults` gives, is not worth a report).
  const scratch: PayloadProblems = { count: 0, first: [] };
  if (readNamed(object, plan, new Map(), scratch, path, depth, ancestors, undefined) !== undefined) {
    report(problems, path, plan.field.name, "left out: its property names are another field's");
  }
  return undefined;
}

function readNamed(
  object: Fields,
  { field, names, sensitiveRivals }: FieldPlan,
  oneofs: Oneofs | undefined,
  problems: PayloadProblems,
  path: Path,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadField | undefined {
  if (field.kind === "map") return readMap(object, field, names, problems, path, depth, ancestors, budget);
  const { oneof, name } = field;
  if (oneof !== undefined && !field.optional) {
    // Never undefined here (hasOneofMembers); if it were, the member is left out, not read unchecked.
    if (oneofs === undefined) return invalidField(problems, path, name, `oneof ${oneof} not planned`);
    const member = oneofMember(object, oneof, names, problems, path, name);
    if (member === undefined) return undefined;
    const settled = oneofs.get(oneof);
    if (settled === "left out") return undefined;
    // A oneof holds one member: a second one set (plain proto-loader fields) is malformed input.
    if (settled === "read")
      return invalidField(problems, path, name, `a second member of oneof ${oneof} is set`);
    // protobuf.js keeps every member the wire held, not which came last (the one the oneof holds). If
    // a sensitive member is among them, the oneof may hold it: none of its members is captured.
    const rival = member.plain ? sensitiveRivals.find((r) => isSet(property(object, r.names))) : undefined;
    if (rival !== undefined) {
      oneofs.set(oneof, "left out");
      const problem = `oneof ${oneof} left out: its sensitive member ${rival.name} is set too`;
      return invalidField(problems, path, name, problem);
    }
    oneofs.set(oneof, "read");
    const value = convert(field, member.value, problems, path, name, depth, ancestors, budget);
    return value === INVALID ? undefined : { field, single: value };
  }
  const raw = property(object, names);
  if (raw === undefined || raw === null) return undefined;
  if (field.repeated) {
    if (!Array.isArray(raw)) {
      report(problems, path, name, `not an array (${typeName(raw)})`);
      return undefined;
    }
    const list: ReadValue[] = [];
    const length = raw.length;
    const at: Path = { up: path, step: name };
    for (let i = 0; i < length; i++) {
      if (budget !== undefined && budget.left < 0) break;
      const value = convert(field, raw[i], problems, at, i, depth, ancestors, budget);
      if (value === INVALID) {
        // The rest is left out, as no encoder writes past it (ts-proto's throws): a sparse list may
        // be 2^32 - 1 long with nothing held, and each hole would be visited. One rule for digests and
        // JSON alike, so a cut JSON stays the start of the whole one.
        if (i + 1 < length)
          report(problems, path, name, `left out from index ${i + 1}, after an invalid element`);
        break;
      }
      list.push(value);
      if (budget !== undefined) budget.left -= valueChars(value) + 1; // and "[" or ","
    }
    return list.length === 0 ? undefined : { field, list };
  }
  const value = convert(field, raw, problems, path, name, depth, ancestors, budget);
  if (value === INVALID) return undefined;
  // A message is set when present. Without explicit presence a scalar at its default is not set; nor
  // is one at its declared default, which ts-proto fills in for an absent proto2 field.
  if (isMessage(value)) return { field, single: value };
  if ((!field.optional && isDefault(value)) || isDeclaredDefault(field.default, value)) return undefined;
  return { field, single: value };
}

function readMap(
  object: Fields,
  field: MapField,
  names: readonly string[],
  problems: PayloadProblems,
  path: Path,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadField | undefined {
  const raw = property(object, names);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    report(problems, path, field.name, `not a map object (${typeName(raw)})`);
    return undefined;
  }
  const at: Path = { up: path, step: field.name };
  const entries =
    budget === undefined
      ? readEntries(raw, field, problems, at, depth, ancestors)
      : readFirstEntries(raw, field, problems, at, depth, ancestors, budget);
  return entries.length === 0 ? undefined : { field, entries };
}

type MapField = FieldShape & { kind: "map"; key: ScalarType; value: ValueShape };
type Entries = (readonly [Scalar, ReadValue])[];

/** Every entry of a map, in the order it holds them. */
function readEntries(
  raw: object,
  field: MapField,
  problems: PayloadProblems,
  at: Path,
  depth: number,
  ancestors: Ancestors,
): Entries {
  const pairs = raw instanceof Map ? [...raw.entries()] : Object.entries(raw);
  const entries: Entries = [];
  const seen = new Set<string>();
  for (const [rawKey, rawValue] of pairs) {
    const key = mapKey(field, rawKey, seen, problems, at);
    if (key === INVALID) continue;
    const value = convert(field.value, rawValue, problems, at, MAP_VALUE, depth, ancestors, undefined);
    if (value !== INVALID) entries.push([key, value]);
  }
  return entries;
}

/**
 * The entries of a map its JSON writes first, in key order, until the budget is spent: every key is
 * looked at (the first in key order may be anywhere), but only the values written are read.
 */
function readFirstEntries(
  raw: object,
  field: MapField,
  problems: PayloadProblems,
  at: Path,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget,
): Entries {
  const keys: (readonly [Scalar, unknown])[] = [];
  const seen = new Set<string>();
  for (const rawKey of raw instanceof Map ? raw.keys() : Object.keys(raw)) {
    const key = mapKey(field, rawKey, seen, problems, at);
    if (key !== INVALID) keys.push([key, rawKey]);
  }
  const entries: Entries = [];
  for (const [key, rawKey] of inKeyOrder(keys)) {
    if (budget.left < 0) break;
    const rawValue = raw instanceof Map ? raw.get(rawKey) : (raw as Fields)[rawKey as string];
    const value = convert(field.value, rawValue, problems, at, MAP_VALUE, depth, ancestors, budget);
    if (value === INVALID) continue;
    entries.push([key, value]);
    budget.left -= String(key).length + 4 + valueChars(value); // "{" or ",", then "key":
  }
  return entries;
}

/**
 * A map key in its scalar form, or INVALID when it is not one or repeats one already seen (two property
 * names can parse to one integer key, "1" and "01": the first one is kept).
 */
function mapKey(
  field: MapField,
  rawKey: unknown,
  seen: Set<string>,
  problems: PayloadProblems,
  at: Path,
): Scalar | typeof INVALID {
  const key = toMapKey(field.key, rawKey);
  if (key === INVALID) return invalid(problems, at, undefined, `map key not a valid ${field.key}`);
  // String keys are property names or Map keys: never two alike. Others can be ("1", "01").
  if (typeof key === "string") return key;
  if (seen.has(String(key))) return invalid(problems, at, undefined, "duplicate map key");
  seen.add(String(key));
  return key;
}

/** One value (a singular field, a list element or a map value) in its read form, or INVALID. */
function convert(
  shape: ValueShape,
  value: unknown,
  problems: PayloadProblems,
  path: Path,
  step: Step,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadValue | typeof INVALID {
  switch (shape.kind) {
    case "scalar": {
      const scalar =
        budget !== undefined && shape.scalar === "bytes" && typeof value === "string"
          ? bytesHead(value, Math.ceil(budget.chars / 4) * 3) // as many as the JSON shows (messageJson)
          : toScalar(shape.scalar, value);
      if (scalar === INVALID)
        report(problems, path, step, `not a valid ${shape.scalar} (${typeName(value)})`);
      return scalar;
    }
    case "enum": {
      const number = toEnum(shape.values, value);
      if (number === INVALID) report(problems, path, step, `not a valid enum value (${typeName(value)})`);
      return number;
    }
    case "message":
      if (value === undefined || value === null) return invalid(problems, path, step, "message missing");
      return read(shape.message(), value, problems, { up: path, step }, depth + 1, ancestors, budget);
    case "wellKnown": {
      if (value === undefined || value === null) return invalid(problems, path, step, "message missing");
      const message = wellKnownMessage(shape.type, value);
      if (message === undefined)
        return invalid(problems, path, step, `not a valid ${shape.type} (${typeName(value)})`);
      const at: Path = { up: path, step };
      return read(wellKnownShape(shape.type), message, problems, at, depth + 1, ancestors, budget);
    }
    default: {
      // The interceptors refuse such a shape when created; one changed since must not be skipped unsaid.
      const { kind } = shape as { kind: unknown };
      const named = typeof kind === "string" ? JSON.stringify(kind.slice(0, 40)) : typeName(kind);
      return invalid(problems, path, step, `its shape has an unknown kind (${named})`);
    }
  }
}

/**
 * Fewest JSON characters a field read writes beyond what its reading already counted: its name
 * (`"name":`) and a single scalar's value. List elements, map entries and messages count themselves.
 */
function fieldChars(read: ReadField): number {
  const name = read.field.jsonName.length + 3;
  return "single" in read ? name + valueChars(read.single) : name;
}

function isMessage(value: ReadValue): value is ReadMessage {
  return typeof value === "object" && !(value instanceof Uint8Array);
}
