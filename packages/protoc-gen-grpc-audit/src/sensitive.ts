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
import { reflect } from "@bufbuild/protobuf/reflect";

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

/** protobuf's standard marker (FieldOptions field 16), which buf knows and protoc 3.21 does not. */
function debugRedact(field: DescField): boolean {
  return field.proto.options?.debugRedact === true;
}
