/**
 * Which fields are sensitive: marked `(grpcaudit.v1.field) = { sensitive: true }` or with protobuf's own
 * `debug_redact = true`. A sensitive field is left out of captured payloads, and no id path may read it.
 */
import {
  createRegistry,
  type DescField,
  type DescFile,
  getOption,
  hasOption,
  isMessage,
} from "@bufbuild/protobuf";
import { nestedTypes, reflect } from "@bufbuild/protobuf/reflect";
import { unknownFieldProblem } from "./read-rules.js";

/** Full name of the field option. */
export const FIELD_OPTION = "grpcaudit.v1.field";

/** Tells whether a field is sensitive. */
export type IsSensitive = (field: DescField) => boolean;

/**
 * The sensitivity test for the fields of `files`. Without the `(grpcaudit.v1.field)` extension among
 * them (an older annotations.proto, or a file without annotations) only `debug_redact` counts. Throws
 * when the extension exists with an unexpected shape.
 */
export function findSensitive(files: readonly DescFile[]): IsSensitive {
  const extension = createRegistry(...files).getExtension(FIELD_OPTION);
  if (extension === undefined) return debugRedact;
  const audit = extension.fieldKind === "message" ? extension.message : undefined;
  const sensitive = audit?.fields.find((f) => f.name === "sensitive");
  if (audit === undefined || sensitive === undefined) {
    throw new Error(`${FIELD_OPTION} must hold a message with a field "sensitive"; is it out of date?`);
  }
  return (field) => {
    if (debugRedact(field)) return true;
    if (!hasOption(field, extension)) return false;
    const value: unknown = getOption(field, extension);
    return isMessage(value, audit) && reflect(audit, value).get(sensitive) === true;
  };
}

/**
 * One problem per `(grpcaudit.v1.field)` on a field of `files` (looked up among `allFiles`) that sets a field other than `sensitive`
 * (from an annotations.proto newer than the plugin), as `<file>: <message>.<field>: <problem>`.
 */
export function unknownFieldOptions(files: readonly DescFile[], allFiles: readonly DescFile[]): string[] {
  const extension = createRegistry(...allFiles).getExtension(FIELD_OPTION);
  if (extension?.fieldKind !== "message") return [];
  const audit = extension.message;
  const problems: string[] = [];
  for (const file of files) {
    for (const type of nestedTypes(file)) {
      if (type.kind !== "message") continue;
      for (const field of type.fields) {
        if (!hasOption(field, extension)) continue;
        const value: unknown = getOption(field, extension);
        if (!isMessage(value, audit)) continue;
        const r = reflect(audit, value);
        for (const set of audit.fields) {
          if (set.name === "sensitive" || !r.isSet(set)) continue;
          problems.push(
            `${file.proto.name}: ${type.typeName}.${field.name}: ${unknownFieldProblem(FIELD_OPTION, set.name)}`,
          );
        }
      }
    }
  }
  return problems;
}

/** protobuf's standard marker (FieldOptions field 16), which buf knows and protoc 3.21 does not. */
function debugRedact(field: DescField): boolean {
  return field.proto.options?.debugRedact === true;
}
