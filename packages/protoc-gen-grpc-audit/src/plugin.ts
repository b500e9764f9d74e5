/**
 * protoc-gen-grpc-audit: turns `(grpcaudit.v1.audit)` / `(grpcaudit.v1.audit_default)` and
 * `(grpcaudit.v1.authz)` / `(grpcaudit.v1.authz_default)` options into two rule tables per proto file,
 * `auditRules` and `authzRules` in `<name>_audit.ts` next to ts-proto's `<name>.ts`. Audit rules that
 * capture payloads also get the message shapes of their requests and responses, with the fields marked
 * `(grpcaudit.v1.field).sensitive` or `debug_redact` flagged; each shape is printed once per run, in the
 * output of the file declaring its message when that file is generated too (see `planShapes`). A file
 * with neither rules nor shapes gets no output. Every rule is checked at generation time; any problem
 * fails the whole run with one error that lists them all, so the runtime only reads a map.
 */
import type { DescFile } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Plugin, type Schema } from "@bufbuild/protoplugin";
import { type CheckedAuthzRule, checkAuthzFile } from "./check-authz.js";
import { type CheckedRule, checkFile } from "./check-rules.js";
import { explainOptionError, type PluginOptions, parseOptions } from "./options.js";
import { planShapes, runOrder } from "./place-shapes.js";
import { findAuditOptions, findAuthzOptions } from "./read-rules.js";
import { outputFileName, renderTables, shapeRoots } from "./render.js";
import { findSensitive, unknownFieldOptions } from "./sensitive.js";
import { version } from "./version.js";

/**
 * Audit or authz rules broke a check. The message is the problem itself, or for several a count followed by one
 * indented line per problem; then, on a line of its own, the hint, if any, about what they share.
 */
export class AuditRuleError extends Error {
  override name = "AuditRuleError";
  /** Each problem: `<file>: <service>.<method>: <option path>: <reason>`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], hint?: string) {
    const listed =
      problems.length === 1
        ? problems[0]
        : `${problems.length} problems in audit and authz rules:\n  ${problems.join("\n  ")}`;
    super(hint === undefined ? listed : `${listed}\n${hint}`);
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
 * Throws `AuditRuleError` when a rule is invalid or a `require_*` parameter is not met, and an option
 * error for unknown plugin parameters or bad values, naming the accepted ones.
 */
export const protocGenGrpcAudit: Plugin = withAcceptedValues(
  createEcmaScriptPlugin({
    name: "protoc-gen-grpc-audit",
    version: `v${version}`,
    parseOptions,
    generateTs,
  }),
);

/** `plugin`, whose errors for a bad value of a protoplugin option (`target=tsx`) list the accepted values. */
function withAcceptedValues(plugin: Plugin): Plugin {
  return {
    name: plugin.name,
    version: plugin.version,
    run(request) {
      try {
        return plugin.run(request);
      } catch (error: unknown) {
        throw explainOptionError(error, request.parameter);
      }
    },
  };
}

interface FileTables {
  readonly file: DescFile;
  readonly audit: readonly CheckedRule[];
  readonly authz: readonly CheckedAuthzRule[];
}

/**
 * Why no method has a rule when no file of the request declares the options: buf's `exclude_types` on
 * this plugin strips them, and the import of annotations.proto, from the files it sends, leaving no trace.
 */
const NO_ANNOTATIONS =
  "no file in the request imports grpcaudit/v1/annotations.proto, so no method can have a rule; is exclude_types: [grpcaudit.v1] set on this plugin in buf.gen.yaml? buf then strips the options: set it on ts-proto only";

function generateTs(schema: Schema<PluginOptions>): void {
  const auditOptions = findAuditOptions(schema.allFiles);
  const authzOptions = findAuthzOptions(schema.allFiles);
  const noAnnotations = auditOptions === undefined && authzOptions === undefined;
  const isSensitive = findSensitive(schema.allFiles);
  // Problems and outputs in an order that does not depend on the request's (protoc's command line).
  const files = runOrder(schema.files);
  const problems: string[] = unknownFieldOptions(files, schema.allFiles);
  const tables: FileTables[] = [];
  for (const file of files) {
    const audit = checkFile(file, auditOptions, schema.options, isSensitive);
    const authz = checkAuthzFile(file, authzOptions, schema.options, isSensitive);
    problems.push(...audit.problems, ...authz.problems);
    tables.push({ file, audit: audit.rules, authz: authz.rules });
  }
  // Without the options, the only problems are unmet require_* parameters: say why no method has a rule.
  if (problems.length > 0) throw new AuditRuleError(problems, noAnnotations ? NO_ANNOTATIONS : undefined);
  const roots = new Map(tables.map(({ file, audit }) => [file.name, shapeRoots(audit)]));
  const plan = planShapes(files, (file) => roots.get(file.name) ?? []);
  for (const { file, audit, authz } of tables) {
    // A file without rules still holds the shapes of its messages that other outputs import.
    if (audit.length === 0 && authz.length === 0 && plan.printed(file).length === 0) continue;
    renderTables(schema.generateFile(outputFileName(file)), file, audit, authz, plan, isSensitive);
  }
}
