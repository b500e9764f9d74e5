/**
 * Prints the rule tables of one proto file: `auditRules` and `authzRules`, both always exported (an
 * empty table when the file has no rule of that kind), so that every generated file has the same
 * tables. The output imports ts-proto's message interfaces (as types) and message shapes printed in
 * other outputs of the same run, never grpc-audit, so it compiles wherever ts-proto's output does; its
 * tables are assignable to grpc-audit's `RuleTable` and `AuthzRuleTable`. Every rule carries the
 * rule-table `format` the runtime checks. Order is declaration order, so the output is stable.
 */
import type { DescFile, DescMessage, DescMethod } from "@bufbuild/protobuf";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import type { CheckedAuthzRule } from "./check-authz.js";
import type { CheckedRule } from "./check-rules.js";
import type { IdPath } from "./field-path.js";
import type { ShapePlan } from "./place-shapes.js";
import { idHelpersFor, idReaderBody, type LocalName, printIdHelpers } from "./render-ids.js";
import { printShapes, printShapeTypes, type ShapeRef } from "./render-shapes.js";
import { RULE_FORMAT } from "./rule-format.js";
import type { IsSensitive } from "./sensitive.js";
import { tsProtoModulePath, tsProtoTypeName } from "./ts-proto-names.js";

/** Name of the helper that reads an id from metadata; printed only into files that use it. */
const METADATA_TEXT = "metadataText";
/**
 * The type of the metadata `objectId` reads: grpc-js `Metadata` and grpc-audit's `MetadataReader`. Its
 * global types through `local`, so that a message type named Buffer or ReadonlyArray is imported under
 * an alias instead of replacing them.
 */
function metadataType(local: LocalName): Printable {
  return ["{ get(key: string): ", local("ReadonlyArray"), "<string | ", local("Buffer"), "> }"];
}

/** Name of the output file for a proto file: next to ts-proto's `<name>.ts`. */
export function outputFileName(file: DescFile): string {
  return `${file.name}_audit.ts`;
}

/** Import path of the output file of `file`, relative to the output root, as protoplugin derives it. */
function outputImportPath(file: DescFile): string {
  return `./${outputFileName(file).replace(/\.ts$/, ".js")}`;
}

/**
 * The `LocalName` of the output file of `file`: a symbol imported from the file itself, which
 * protoplugin prints as it is and counts as taken (`deriveImportPath` of the output file name).
 */
function localNames(f: GeneratedFile, file: DescFile): LocalName {
  const self = outputImportPath(file);
  return (name) => f.import(name, self);
}

/** A shape printed in this output by its name; one printed in another output imported from it. */
function shapeRefs(f: GeneratedFile, file: DescFile, plan: ShapePlan): ShapeRef {
  return (message) => {
    const at = plan.locate(message, file);
    return at.file === file ? at.name : f.import(at.name, outputImportPath(at.file));
  };
}

/** The request and response messages of the rules that capture payloads: the roots of their shapes. */
export function shapeRoots(audit: readonly CheckedRule[]): DescMessage[] {
  return audit
    .filter((rule) => rule.payload !== "none")
    .flatMap((rule) => [rule.method.input, rule.method.output]);
}

/**
 * Prints the preamble, the type imports, the message shapes `plan` places here, and the frozen
 * `auditRules` and `authzRules` tables of `file`.
 */
export function renderTables(
  f: GeneratedFile,
  file: DescFile,
  audit: readonly CheckedRule[],
  authz: readonly CheckedAuthzRule[],
  plan: ShapePlan,
  isSensitive: IsSensitive,
): void {
  const name = file.proto.name.replaceAll("*/", "*\\/");
  const local = localNames(f, file);
  const shapes = shapeRefs(f, file, plan);
  f.preamble(file);
  // Before the tables, which refer to them as they are built.
  const wireMembers = printShapes(f, file, plan, shapes, isSensitive, local);
  f.print(`/** Audit rules of ${name}, keyed by full method path. */`);
  printTable(f, "auditRules", audit, (f, rule) => printAuditRule(f, rule, shapes), local);
  f.print();
  f.print(`/** Authz rules of ${name}, keyed by full method path; a method without an entry has no rule. */`);
  printTable(f, "authzRules", authz, (f, rule) => printAuthzRule(f, rule, local), local);
  const paths = [...audit.map((rule) => rule.targetId), ...authz.map(requestPath)];
  printIdHelpers(f, idHelpersFor(paths.filter((path) => path !== undefined)), local);
  // Only beside shapes of its own: an unused type would fail `noUnusedLocals` where the file is compiled.
  const printed = plan.printed(file);
  if (printed.length > 0) printShapeTypes(f, local, printed.some(plan.exported), wireMembers);
  if (authz.some((rule) => rule.objectId?.kind === "metadata")) {
    f.print();
    f.print('/** The first value of a metadata key when it is a string; "" otherwise. Never throws. */');
    f.print(
      "function ",
      local(METADATA_TEXT),
      "(metadata: ",
      metadataType(local),
      ", key: string): string {",
    );
    f.print("  try {");
    f.print("    const value = metadata.get(key)[0];");
    f.print('    return typeof value === "string" ? value : "";');
    f.print("  } catch {");
    f.print('    return ""; // a broken metadata object must not break the call');
    f.print("  }");
    f.print("}");
  }
}

function printTable<R>(
  f: GeneratedFile,
  name: string,
  rules: readonly R[],
  printRule: (f: GeneratedFile, rule: R) => void,
  local: LocalName,
): void {
  // `Object` through `local`: a message type named Object must not shadow the global.
  if (rules.length === 0) {
    f.print(f.export("const", name), " = ", local("Object"), ".freeze({});");
    return;
  }
  f.print(f.export("const", name), " = ", local("Object"), ".freeze({");
  for (const rule of rules) printRule(f, rule);
  f.print("});");
}

function printAuditRule(f: GeneratedFile, rule: CheckedRule, shapes: ShapeRef): void {
  const { targetId } = rule;
  const request = targetId?.side === "request" ? "request" : "_request";
  const response = targetId?.side === "response" ? "response" : "_response";
  printEntry(
    f,
    rule.method,
    [
      ...eventFields(f, rule),
      ["targetType", f.string(rule.targetType)],
      ["targetIdField", f.string(rule.targetIdField)],
      ["recordOnError", rule.recordOnError],
      ...optionalFields(f, rule, shapes),
    ],
    [
      `targetId(${request}: `,
      importType(f, rule.method.input),
      ` | undefined, ${response}: `,
      importType(f, rule.method.output),
      " | undefined): string {",
    ],
    targetId === undefined ? ['return "";'] : idReaderBody(targetId),
  );
}

/**
 * `event` and `mutation`. Mutation rules keep the shape they had before `event` existed (absent means
 * "mutation"); access rules carry a placeholder mutation, since AuditRule requires one.
 */
function eventFields(f: GeneratedFile, rule: CheckedRule): Field[] {
  if (rule.event === "mutation") return [["mutation", f.string(rule.mutation)]];
  return [
    ["event", f.string("access")],
    ["mutation", f.string(rule.mutation), "required by AuditRule; unused by access rules"],
  ];
}

/** The fields a rule has only when its option says so, so that rules without them keep their shape. */
function optionalFields(f: GeneratedFile, rule: CheckedRule, shapes: ShapeRef): Field[] {
  const fields: Field[] = [];
  if (rule.payload !== "none") {
    fields.push(
      ["payload", f.string(rule.payload)],
      ["requestShape", shapes(rule.method.input)],
      ["responseShape", shapes(rule.method.output)],
    );
  }
  if (rule.statusMessage !== undefined) fields.push(["statusMessage", f.string(rule.statusMessage)]);
  return fields;
}

function printAuthzRule(f: GeneratedFile, rule: CheckedAuthzRule, local: LocalName): void {
  const source = rule.objectId;
  const request = source?.kind === "request" ? "request" : "_request";
  const metadata = source?.kind === "metadata" ? "metadata" : "_metadata";
  printEntry(
    f,
    rule.method,
    [
      ["public", rule.public],
      ["relation", f.string(rule.relation)],
      ["objectType", f.string(rule.objectType)],
      ["objectIdSource", f.string(rule.objectIdSource)],
    ],
    [
      `objectId(${request}: `,
      importType(f, rule.method.input),
      ` | undefined, ${metadata}: `,
      metadataType(local),
      "): string {",
    ],
    source === undefined
      ? ['return "";']
      : source.kind === "request"
        ? idReaderBody(source.path)
        : source.kind === "metadata"
          ? [["return ", METADATA_TEXT, "(metadata, ", f.string(source.key), ");"]]
          : [["return ", f.string(source.id), ";"]],
  );
}

/** A property of a table entry, with an optional comment printed above it. */
type Field = [name: string, value: Printable, comment?: string];

/**
 * One frozen table entry: method, the rule-table format, kind, `fields`, then the id reader
 * `signature { body }`.
 */
function printEntry(
  f: GeneratedFile,
  method: DescMethod,
  fields: readonly Field[],
  signature: Printable,
  body: readonly Printable[],
): void {
  const path = f.string(`/${method.parent.typeName}/${method.name}`);
  f.print("  ", path, ": Object.freeze({");
  f.print("    method: ", path, ",");
  f.print("    format: ", RULE_FORMAT, ",");
  f.print("    kind: ", f.string(method.methodKind), ",");
  for (const [name, value, comment] of fields) {
    if (comment !== undefined) f.print("    // ", comment);
    f.print("    ", name, ": ", value, ",");
  }
  f.print("    ", signature);
  for (const line of body) f.print("      ", line);
  f.print("    },");
  f.print("  }),");
}

function importType(f: GeneratedFile, message: DescMessage): Printable {
  return f.import(tsProtoTypeName(message), tsProtoModulePath(message.file), true);
}

function requestPath(rule: CheckedAuthzRule): IdPath | undefined {
  return rule.objectId?.kind === "request" ? rule.objectId.path : undefined;
}
