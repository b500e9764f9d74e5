/**
 * protoc-gen-grpc-audit: turns `(grpcaudit.v1.audit)` method options and `(grpcaudit.v1.audit_default)`
 * service options into one rule table per proto file, `<name>_audit.ts` next to ts-proto's `<name>.ts`.
 * Every rule is checked at generation time; any problem fails the whole run with one error that lists
 * them all, so the runtime only reads a map.
 */
import type { DescFile } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { type CheckedRule, checkFile } from "./check-rules.js";
import { type PluginOptions, parseOptions } from "./options.js";
import { findAuditOptions } from "./read-rules.js";
import { outputFileName, renderRules } from "./render.js";
import { version } from "./version.js";

/**
 * Audit rules broke a check. The message is the problem itself, or for several a count followed by one
 * indented line per problem.
 */
export class AuditRuleError extends Error {
  override name = "AuditRuleError";
  /** Each problem: `<file>: <service>.<method>: <option path>: <reason>`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `${problems.length} problems in audit rules:\n  ${problems.join("\n  ")}`,
    );
    this.problems = problems;
  }
}

/**
 * The plugin. Run it with `runNodeJs(protocGenGrpcAudit)` (the `protoc-gen-grpc-audit` bin), or in
 * process with `protocGenGrpcAudit.run(codeGeneratorRequest)`.
 *
 * ```yaml
 * # buf.gen.yaml, next to ts-proto (importSuffix=.js)
 * - local: protoc-gen-grpc-audit
 *   out: src/gen
 *   opt: [target=ts, import_extension=js]
 * ```
 *
 * Throws `AuditRuleError` when a rule is invalid, and an option error for unknown plugin parameters.
 */
export const protocGenGrpcAudit = createEcmaScriptPlugin({
  name: "protoc-gen-grpc-audit",
  version: `v${version}`,
  parseOptions,
  generateTs,
});

function generateTs(schema: Schema<PluginOptions>): void {
  const audit = findAuditOptions(schema.allFiles);
  const problems: string[] = [];
  const tables: { file: DescFile; rules: readonly CheckedRule[] }[] = [];
  for (const file of schema.files) {
    const checked = checkFile(file, audit, schema.options);
    problems.push(...checked.problems);
    if (checked.rules.length > 0) tables.push({ file, rules: checked.rules });
  }
  if (problems.length > 0) throw new AuditRuleError(problems);
  for (const { file, rules } of tables) {
    renderRules(schema.generateFile(outputFileName(file)), file, rules);
  }
}
