/**
 * Prints the body of a generated id reader for a checked path, and the small helpers those bodies
 * call. A message may come from ts-proto (camelCase properties) or `@grpc/proto-loader` (snake_case with
 * `keepCase: true`, else protobuf.js camelCase), so each field on the path is read under each of its
 * names with `??`: a choice made per field at generation time, a few property reads per call.
 */
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import type { IdPath } from "./field-path.js";
import { propertyNames } from "./property-names.js";

/**
 * Prints a name the generated file declares (or a global it uses, such as `Object`) as a symbol of the
 * file itself, so that protoplugin imports a message type of the same name under an alias (`Object$1`)
 * instead of letting it shadow the declaration or the global.
 */
export type LocalName = (name: string) => Printable;

/** Helpers a generated file may call; each is printed only into files that use it. */
export type IdHelper = "fields" | "ownField" | "textId" | "decimalId";

/**
 * What every plain object inherits (Object.prototype's own names, listed so that the output does not
 * depend on the generating Node). A field of such a name is read with `ownField`: a plain read of an
 * absent `toString` gives a function, and `m0["toString"] ?? m0["to_string"]` would stop there.
 */
const INHERITED: ReadonlySet<string> = new Set([
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "constructor",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "toString",
  "valueOf",
]);

/**
 * The lines of a reader's body for `path`, the last one `return …;`. A field with one name is read
 * inline; a field with several is read from a `const` holding its message, so each level is read once.
 *
 * ```ts
 * const m0 = fields(fields(request)["member"]);
 * return decimalId(m0["memberId"] ?? m0["member_id"]);
 * ```
 */
export function idReaderBody(path: IdPath): string[] {
  const lines: string[] = [];
  let message = `fields(${path.side})`; // an expression giving the message that holds the next field
  for (const [i, field] of path.fields.entries()) {
    const names = propertyNames(field);
    if (names.length > 1) {
      const name = `m${lines.length}`;
      lines.push(`const ${name} = ${message};`);
      message = name;
    }
    const value = names.map((name) => read(message, name)).join(" ?? ");
    const isLeaf = i === path.fields.length - 1;
    if (isLeaf) lines.push(`return ${path.leaf === "integer" ? "decimalId" : "textId"}(${value});`);
    else message = `fields(${value})`;
  }
  return lines;
}

/** The expression reading property `name` of the `Fields` expression `message`. */
function read(message: string, name: string): string {
  // Bracket access compiles also under `noPropertyAccessFromIndexSignature`.
  return INHERITED.has(name)
    ? `ownField(${message}, ${JSON.stringify(name)})`
    : `${message}[${JSON.stringify(name)}]`;
}

/** The helpers `paths` need: `fields` always, `ownField` for inherited names, `textId` and `decimalId` by leaf kind. */
export function idHelpersFor(paths: readonly IdPath[]): Set<IdHelper> {
  const helpers = new Set<IdHelper>();
  for (const path of paths) {
    helpers.add("fields");
    if (path.fields.some((field) => propertyNames(field).some((name) => INHERITED.has(name)))) {
      helpers.add("ownField");
    }
    helpers.add(path.leaf === "integer" ? "decimalId" : "textId");
  }
  return helpers;
}

/** Prints the helpers in `helpers`, in a fixed order. */
export function printIdHelpers(f: GeneratedFile, helpers: ReadonlySet<IdHelper>, local: LocalName): void {
  if (helpers.has("fields")) {
    f.print();
    f.print("/** A message's properties by name, whichever loader made it. */");
    f.print("type ", local("Fields"), " = { readonly [name: string]: unknown };");
    f.print("const ", local("NO_FIELDS"), ": Fields = ", local("Object"), ".freeze({});");
    f.print();
    f.print("/** The properties of a message; an absent or non-object value has none. */");
    f.print("function ", local("fields"), "(message: unknown): Fields {");
    f.print('  return typeof message === "object" && message !== null ? (message as Fields) : NO_FIELDS;');
    f.print("}");
  }
  if (helpers.has("ownField")) {
    f.print();
    f.print(
      "/** A property the message has itself; a name such as toString is not read from Object.prototype. */",
    );
    f.print("function ", local("ownField"), "(message: Fields, name: string): unknown {");
    f.print("  return Object.prototype.hasOwnProperty.call(message, name) ? message[name] : undefined;");
    f.print("}");
  }
  if (helpers.has("textId")) {
    f.print();
    f.print('/** A string id as it is; absent (or not a string) gives "". */');
    f.print("function ", local("textId"), "(value: unknown): string {");
    f.print('  return typeof value === "string" ? value : "";');
    f.print("}");
  }
  if (helpers.has("decimalId")) {
    f.print();
    f.print("/**");
    f.print(" * The decimal string of an integer id, however the loader gave it: number, bigint, string");
    f.print(
      ' * (proto-loader `longs: String`) or Long (proto-loader\'s default for 64-bit integers); absent gives "".',
    );
    f.print(" */");
    f.print("function ", local("decimalId"), "(value: unknown): string {");
    f.print("  switch (typeof value) {");
    f.print('    case "number":');
    f.print('    case "bigint":');
    f.print('    case "string":');
    f.print("      return ", local("String"), "(value);");
    f.print('    case "object":');
    f.print('      return value === null ? "" : String(value); // Long#toString() is decimal');
    f.print("    default:");
    f.print('      return "";');
    f.print("  }");
    f.print("}");
  }
}
