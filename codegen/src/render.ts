/**
 * Prints the rule table of one proto file. The output imports only ts-proto's message interfaces (as
 * types), never grpc-audit, so it compiles wherever ts-proto's output does; its table is assignable to
 * grpc-audit's `RuleTable`. Order is declaration order, so the output is stable.
 */
import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import type { CheckedRule } from "./check-rules.js";
import type { IdPath } from "./field-path.js";
import { tsProtoModulePath, tsProtoPropertyName, tsProtoTypeName } from "./ts-proto-names.js";

/** Name of the helper that renders integer ids; printed only into files that use it. */
const DECIMAL_ID = "decimalId";

/** Name of the output file for a proto file: next to ts-proto's `<name>.ts`. */
export function outputFileName(file: DescFile): string {
  return `${file.name}_audit.ts`;
}

/** Prints the preamble, the type imports and the frozen `auditRules` table of `file`. */
export function renderRules(f: GeneratedFile, file: DescFile, rules: readonly CheckedRule[]): void {
  f.preamble(file);
  f.print(`/** Audit rules of ${file.proto.name.replaceAll("*/", "*\\/")}, keyed by full method path. */`);
  f.print(f.export("const", "auditRules"), " = Object.freeze({");
  for (const rule of rules) renderRule(f, rule);
  f.print("});");
  if (rules.some((rule) => rule.targetId?.leaf === "integer")) {
    f.print();
    f.print('/** The decimal string of an integer id (number, bigint or Long); absent gives "". */');
    f.print(`function ${DECIMAL_ID}(value: unknown): string {`);
    f.print(`  return value === undefined || value === null ? "" : String(value);`);
    f.print("}");
  }
}

function renderRule(f: GeneratedFile, rule: CheckedRule): void {
  const path = f.string(rule.path);
  const { targetId } = rule;
  const request = targetId?.side === "request" ? "request" : "_request";
  const response = targetId?.side === "response" ? "response" : "_response";
  f.print("  ", path, ": Object.freeze({");
  f.print("    method: ", path, ",");
  f.print("    kind: ", f.string(rule.method.methodKind), ",");
  f.print("    mutation: ", f.string(rule.mutation), ",");
  f.print("    targetType: ", f.string(rule.targetType), ",");
  f.print("    targetIdField: ", f.string(rule.targetIdField), ",");
  f.print("    recordOnError: ", rule.recordOnError, ",");
  f.print(
    `    targetId(${request}: `,
    importType(f, rule.method.input),
    ` | undefined, ${response}: `,
    importType(f, rule.method.output),
    " | undefined): string {",
  );
  f.print("      return ", targetId === undefined ? '""' : extractor(targetId), ";");
  f.print("    },");
  f.print("  }),");
}

function importType(f: GeneratedFile, message: DescMessage): Printable {
  return f.import(tsProtoTypeName(message), tsProtoModulePath(message.file), true);
}

/** `request?.project?.id ?? ""`, or `decimalId(response?.memberId)` for an integer leaf. */
function extractor(path: IdPath): string {
  const chain = [path.side, ...path.fields.map(tsProtoPropertyName)].join("?.");
  return path.leaf === "integer" ? `${DECIMAL_ID}(${chain})` : `${chain} ?? ""`;
}
