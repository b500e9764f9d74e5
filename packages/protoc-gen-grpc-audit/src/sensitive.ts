/**
 * Which fields are sensitive: marked `(grpcaudit.v1.field) = { sensitive: true }` or by protobuf's own
 * `debug_redact`, either on the field (`[debug_redact = true]`) or on the enum value of a custom enum
 * field option set on it (`[(acme.data_class) = DATA_CLASS_PII]` where that value has
 * `[debug_redact = true]`). A sensitive field is left out of captured payloads, and no id path may read it.
 */
import {
  createRegistry,
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescFile,
  getOption,
  hasOption,
  isMessage,
  type Registry,
} from "@bufbuild/protobuf";
import { nestedTypes, reflect } from "@bufbuild/protobuf/reflect";
import { FieldOptionsSchema } from "@bufbuild/protobuf/wkt";
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
  const registry = createRegistry(...files);
  const redacted = (field: DescField) => debugRedact(field) || redactingEnumOption(field, registry);
  const extension = registry.getExtension(FIELD_OPTION);
  if (extension === undefined) return redacted;
  const audit = extension.fieldKind === "message" ? extension.message : undefined;
  const sensitive = audit?.fields.find((f) => f.name === "sensitive");
  if (audit === undefined || sensitive === undefined) {
    throw new Error(`${FIELD_OPTION} must hold a message with a field "sensitive"; is it out of date?`);
  }
  return (field) => {
    if (redacted(field)) return true;
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

/**
 * Whether a custom option set on `field` is an enum (or a list of them) holding a value marked
 * `debug_redact` (EnumValueOptions field 3): protobuf redacts such a field too. Custom options arrive
 * as unknown fields of FieldOptions; each one's extension is looked up in `registry` by number.
 */
function redactingEnumOption(field: DescField, registry: Registry): boolean {
  const unknown = field.proto.options?.$unknown;
  if (unknown === undefined) return false;
  for (const no of new Set(unknown.map((u) => u.no))) {
    const option = registry.getExtensionFor(FieldOptionsSchema, no);
    const type = option === undefined ? undefined : enumOf(option);
    if (option === undefined || type === undefined) continue;
    const value: unknown = getOption(field, option);
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === "number" && type.value[v]?.proto.options?.debugRedact === true))
      return true;
  }
  return false;
}

/** The enum an option holds, alone or as a list; undefined for other kinds. */
function enumOf(option: DescExtension): DescEnum | undefined {
  if (option.fieldKind === "enum") return option.enum;
  return option.fieldKind === "list" && option.listKind === "enum" ? option.enum : undefined;
}
