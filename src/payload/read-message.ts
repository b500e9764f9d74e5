import type { FieldShape, MessageShape, ScalarType, ValueShape } from "../rules/message-shape.js";
import { camelCase, type FieldPlan, hasOneofMembers, planOf } from "./field-plan.js";
import { INVALID, isDefault, type Scalar, toEnum, toMapKey, toScalar } from "./scalars.js";
import { wellKnownMessage, wellKnownShape } from "./well-known.js";

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

/**
 * What went wrong while reading a message for capture: each value of the wrong type, out of range or
 * unreadable is left out and counted, and the first five are described by path and type, never by
 * value (a skipped value may be a secret). Start with `{ count: 0, first: [] }`.
 */
export interface PayloadProblems {
  /** Values skipped. */
  count: number;
  /** The first few problems, such as "owner.credential.kind: not a valid enum". */
  readonly first: string[];
}

/**
 * How far a reading for JSON may go: `left` starts at the characters (UTF-16 units) of JSON wanted and
 * goes down by a lower bound of the characters each value read writes (field names, strings, brackets;
 * at least one per number). Once below zero, the JSON certainly passes what is wanted, and the reading
 * stops: no further field or list element of any message is read (a map is read whole, its entries are
 * written in key order). What was read is then the start of the message, in the order its JSON writes it.
 * @internal
 */
export interface ReadBudget {
  left: number;
}

/** Problems listed in PayloadProblems.first; the rest are only counted. */
const LISTED_PROBLEMS = 5;

/** Deepest nesting read, as protobuf's own recursion limit; deeper messages (or cycles) are skipped. */
export const MAX_DEPTH = 100;

type Fields = Record<string, unknown>;

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
  return read(shape, message, problems, "", 0, new Set(), budget);
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
  path: string,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadMessage {
  const fields: ReadField[] = [];
  if (typeof message !== "object" || message === null || message instanceof Uint8Array) {
    report(problems, path || shape.typeName, `not a message object (${typeName(message)})`);
    return { shape, fields };
  }
  if (depth >= MAX_DEPTH) {
    report(problems, path, `nested deeper than ${MAX_DEPTH} messages`);
    return { shape, fields };
  }
  if (ancestors.has(message)) {
    report(problems, path, "holds a message it is nested in (a cycle)");
    return { shape, fields };
  }
  ancestors.add(message);
  const object = message as Fields;
  const plans = planOf(shape);
  // Most messages have no oneof: a Map for each of them was a tenth of a large message's reading time.
  const oneofs: Oneofs | undefined = hasOneofMembers(shape) ? new Map() : undefined;
  // A well-known type (a method may take or return one) is small and has a JSON form of its own,
  // shorter than its fields': read whole, counted as nothing.
  const counted = budget !== undefined && !shape.typeName.startsWith("google.protobuf.") ? budget : undefined;
  if (counted !== undefined) counted.left -= 1; // "{"
  for (const plan of plans) {
    if (counted !== undefined && counted.left < 0) break;
    const { field } = plan;
    const at = path === "" ? field.name : `${path}.${field.name}`;
    try {
      const read = readField(object, plan, oneofs, problems, at, depth, ancestors, counted);
      if (read !== undefined) {
        fields.push(read);
        if (counted !== undefined) counted.left -= fieldChars(read);
      }
    } catch {
      report(problems, at, "could not be read (a getter or Proxy trap threw)");
    }
  }
  ancestors.delete(message);
  return { shape, fields };
}

function readField(
  object: Fields,
  plan: FieldPlan,
  oneofs: Oneofs | undefined,
  problems: PayloadProblems,
  path: string,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadField | undefined {
  if (!plan.unreadable) return readNamed(object, plan, oneofs, problems, path, depth, ancestors, budget);
  // Its value cannot be told from another field's: left out, and said so when it would have been
  // captured (a value at its default, as proto-loader's `defaults` gives, is not worth a report).
  const scratch: PayloadProblems = { count: 0, first: [] };
  if (readNamed(object, plan, new Map(), scratch, path, depth, ancestors, undefined) !== undefined) {
    report(problems, path, "left out: its property names are another field's");
  }
  return undefined;
}

function readNamed(
  object: Fields,
  { field, names, sensitiveRivals }: FieldPlan,
  oneofs: Oneofs | undefined,
  problems: PayloadProblems,
  path: string,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadField | undefined {
  if (field.kind === "map") return readMap(object, field, names, problems, path, depth, ancestors);
  const { oneof } = field;
  if (oneof !== undefined && !field.optional) {
    // Never undefined here (hasOneofMembers); if it were, the member is left out, not read unchecked.
    if (oneofs === undefined) return invalidField(problems, path, `oneof ${oneof} not planned`);
    const member = oneofMember(object, oneof, names, problems, path);
    if (member === undefined) return undefined;
    const settled = oneofs.get(oneof);
    if (settled === "left out") return undefined;
    // A oneof holds one member: a second one set (plain proto-loader fields) is malformed input.
    if (settled === "read") return invalidField(problems, path, `a second member of oneof ${oneof} is set`);
    // protobuf.js keeps every member the wire held, not which came last (the one the oneof holds). If
    // a sensitive member is among them, the oneof may hold it: none of its members is captured.
    const rival = member.plain ? sensitiveRivals.find((r) => isSet(property(object, r.names))) : undefined;
    if (rival !== undefined) {
      oneofs.set(oneof, "left out");
      const problem = `oneof ${oneof} left out: its sensitive member ${rival.name} is set too`;
      return invalidField(problems, path, problem);
    }
    oneofs.set(oneof, "read");
    const value = convert(field, member.value, problems, path, depth, ancestors, budget);
    return value === INVALID ? undefined : { field, single: value };
  }
  const raw = property(object, names);
  if (raw === undefined || raw === null) return undefined;
  if (field.repeated) {
    if (!Array.isArray(raw)) {
      report(problems, path, `not an array (${typeName(raw)})`);
      return undefined;
    }
    const list: ReadValue[] = [];
    const length = raw.length;
    for (let i = 0; i < length; i++) {
      if (budget !== undefined && budget.left < 0) break;
      const value = convert(field, raw[i], problems, `${path}[${i}]`, depth, ancestors, budget);
      if (value === INVALID) continue;
      list.push(value);
      if (budget !== undefined) budget.left -= valueChars(value) + 1; // and "[" or ","
    }
    return list.length === 0 ? undefined : { field, list };
  }
  const value = convert(field, raw, problems, path, depth, ancestors, budget);
  if (value === INVALID) return undefined;
  // Without explicit presence a scalar at its default is not set; a message is set when present.
  if (!field.optional && !isMessage(value) && isDefault(value)) return undefined;
  return { field, single: value };
}

/**
 * The value of `field` when it is the member its oneof holds. ts-proto keeps a oneof as
 * `{ $case, value }` under the oneof's name; @grpc/proto-loader keeps members as plain fields and, with
 * `oneofs: true`, the set member's name under the oneof's name.
 */
function oneofMember(
  object: Fields,
  oneof: string,
  names: readonly string[],
  problems: PayloadProblems,
  path: string,
): { value: unknown; plain: boolean } | undefined {
  const holder = ownValue(object, oneof) ?? ownValue(object, camelCase(oneof));
  if (typeof holder === "object" && holder !== null && "$case" in holder) {
    const { $case, value } = holder as { $case: unknown; value: unknown };
    if (!names.includes($case as string)) return undefined;
    if (value === undefined || value === null) {
      report(problems, path, "oneof member without a value");
      return undefined;
    }
    return { value, plain: false };
  }
  if (typeof holder === "string" && !names.includes(holder)) return undefined;
  const value = property(object, names);
  return value === undefined || value === null ? undefined : { value, plain: true };
}

function readMap(
  object: Fields,
  field: FieldShape & { kind: "map"; key: ScalarType; value: ValueShape },
  names: readonly string[],
  problems: PayloadProblems,
  path: string,
  depth: number,
  ancestors: Ancestors,
): ReadField | undefined {
  const raw = property(object, names);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    report(problems, path, `not a map object (${typeName(raw)})`);
    return undefined;
  }
  const pairs = raw instanceof Map ? [...raw.entries()] : Object.entries(raw);
  const entries: (readonly [Scalar, ReadValue])[] = [];
  const seen = new Set<string>();
  for (const [rawKey, rawValue] of pairs) {
    const key = toMapKey(field.key, rawKey);
    if (key === INVALID || seen.has(String(key))) {
      // Two property names can parse to one integer key ("1", "01"): the first one is kept.
      report(problems, path, key === INVALID ? `map key not a valid ${field.key}` : "duplicate map key");
      continue;
    }
    seen.add(String(key));
    // Keys are not values of the path: they may be secrets too, so they are not named.
    // Read whole, without a budget: the JSON writes entries in key order, not in the order read.
    const value = convert(field.value, rawValue, problems, `${path}[]`, depth, ancestors, undefined);
    if (value !== INVALID) entries.push([key, value]);
  }
  return entries.length === 0 ? undefined : { field, entries };
}

/** One value (a singular field, a list element or a map value) in its read form, or INVALID. */
function convert(
  shape: ValueShape,
  value: unknown,
  problems: PayloadProblems,
  path: string,
  depth: number,
  ancestors: Ancestors,
  budget: ReadBudget | undefined,
): ReadValue | typeof INVALID {
  switch (shape.kind) {
    case "scalar": {
      const scalar = toScalar(shape.scalar, value);
      if (scalar === INVALID) report(problems, path, `not a valid ${shape.scalar} (${typeName(value)})`);
      return scalar;
    }
    case "enum": {
      const number = toEnum(shape.values, value);
      if (number === INVALID) report(problems, path, `not a valid enum value (${typeName(value)})`);
      return number;
    }
    case "message":
      if (value === undefined || value === null) return invalid(problems, path, "message missing");
      return read(shape.message(), value, problems, path, depth + 1, ancestors, budget);
    case "wellKnown": {
      if (value === undefined || value === null) return invalid(problems, path, "message missing");
      const message = wellKnownMessage(shape.type, value);
      if (message === undefined)
        return invalid(problems, path, `not a valid ${shape.type} (${typeName(value)})`);
      return read(wellKnownShape(shape.type), message, problems, path, depth + 1, ancestors, budget);
    }
  }
}

/**
 * Fewest JSON characters a field read writes beyond what its reading already counted: its name
 * (`"name":`), a single scalar's value, a map's entries. List elements and messages count themselves.
 */
function fieldChars(read: ReadField): number {
  const name = read.field.jsonName.length + 3;
  if ("single" in read) return name + valueChars(read.single);
  if ("list" in read) return name;
  let chars = name + 1; // "{"
  for (const [key, value] of read.entries) chars += String(key).length + 3 + valueChars(value);
  return chars;
}

/** Fewest JSON characters a value writes: a string its length and quotes, bytes their base64, a number 1. */
function valueChars(value: ReadValue): number {
  if (typeof value === "string") return value.length + 2;
  if (value instanceof Uint8Array) return Math.ceil(value.length / 3) * 4 + 2;
  if (typeof value === "boolean") return 4;
  if (typeof value === "bigint") return 3;
  return typeof value === "number" ? 1 : 0; // a message counted its own
}

/** The value under the first of a field's property names (see FieldPlan) that holds one. */
function property(object: Fields, names: readonly string[]): unknown {
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

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isMessage(value: ReadValue): value is ReadMessage {
  return typeof value === "object" && !(value instanceof Uint8Array);
}

function invalid(problems: PayloadProblems, path: string, problem: string): typeof INVALID {
  report(problems, path, problem);
  return INVALID;
}

function invalidField(problems: PayloadProblems, path: string, problem: string): undefined {
  report(problems, path, problem);
  return undefined;
}

function report(problems: PayloadProblems, path: string, problem: string): void {
  problems.count++;
  if (problems.first.length < LISTED_PROBLEMS) problems.first.push(`${path}: ${problem}`);
}

/** Names a value's type only: values are never echoed, they may be secrets. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Date) return "a Date";
  return typeof value;
}
