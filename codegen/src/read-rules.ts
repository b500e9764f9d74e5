/**
 * Reads the `(grpcaudit.v1.audit)` method option and the `(grpcaudit.v1.audit_default)` service option
 * from the descriptors of a CodeGeneratorRequest. The extensions are looked up by name among the request's
 * files (annotations.proto is always there when a file uses them), so no generated code is needed.
 * Reading only reports what is set; check-rules.ts decides what it means.
 */
import {
  createRegistry,
  type DescExtension,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
  isMessage,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";

/** Full name of the method option. */
export const METHOD_OPTION = "grpcaudit.v1.audit";
/** Full name of the service option. */
export const SERVICE_OPTION = "grpcaudit.v1.audit_default";

/** The fields an `AuditRule` option sets; a field that is not set is absent. Enums are value names. */
export interface RuleFields {
  readonly eventType?: string;
  readonly mutation?: string;
  readonly targetType?: string;
  readonly targetIdField?: string;
  readonly recordOnError?: boolean;
  readonly disabled?: boolean;
}

/** The two option extensions and the `grpcaudit.v1.AuditRule` message they hold. */
export interface AuditOptions {
  readonly method: DescExtension;
  readonly service: DescExtension;
  readonly rule: DescMessage;
}

/**
 * Finds the audit option extensions among the given files. Returns undefined when no file declares
 * them: then no file can use them either. Throws when they exist with an unexpected shape.
 */
export function findAuditOptions(files: readonly DescFile[]): AuditOptions | undefined {
  const registry = createRegistry(...files);
  const method = registry.getExtension(METHOD_OPTION);
  const service = registry.getExtension(SERVICE_OPTION);
  if (method === undefined || service === undefined) return undefined;
  const rule = method.fieldKind === "message" ? method.message : undefined;
  if (rule === undefined || service.fieldKind !== "message" || service.message.typeName !== rule.typeName) {
    throw new Error(`${METHOD_OPTION} and ${SERVICE_OPTION} must both hold grpcaudit.v1.AuditRule`);
  }
  for (const name of Object.values(FIELD_NAMES)) requireField(rule, name);
  return { method, service, rule };
}

/** The fields the method's own `(grpcaudit.v1.audit)` sets, or undefined when it has none. */
export function readMethodRule(method: DescMethod, options: AuditOptions): RuleFields | undefined {
  if (!hasOption(method, options.method)) return undefined;
  return readRule(getOption(method, options.method), options.rule);
}

/** The fields the service's `(grpcaudit.v1.audit_default)` sets, or undefined when it has none. */
export function readServiceDefault(service: DescService, options: AuditOptions): RuleFields | undefined {
  if (!hasOption(service, options.service)) return undefined;
  return readRule(getOption(service, options.service), options.rule);
}

const FIELD_NAMES = {
  eventType: "event_type",
  mutation: "mutation",
  targetType: "target_type",
  targetIdField: "target_id_field",
  recordOnError: "record_on_error",
  disabled: "disabled",
} as const satisfies Record<keyof RuleFields, string>;

function readRule(value: unknown, rule: DescMessage): RuleFields {
  if (!isMessage(value, rule)) throw new Error(`option value is not a ${rule.typeName}`);
  const r = reflect(rule, value);
  const fields: { -readonly [K in keyof RuleFields]: RuleFields[K] } = {};
  for (const field of rule.fields) {
    if (!r.isSet(field)) continue;
    const v: unknown = r.get(field);
    switch (field.name) {
      case FIELD_NAMES.eventType:
        fields.eventType = enumName(field, v);
        break;
      case FIELD_NAMES.mutation:
        fields.mutation = enumName(field, v);
        break;
      case FIELD_NAMES.targetType:
        fields.targetType = String(v);
        break;
      case FIELD_NAMES.targetIdField:
        fields.targetIdField = String(v);
        break;
      case FIELD_NAMES.recordOnError:
        fields.recordOnError = v === true;
        break;
      case FIELD_NAMES.disabled:
        fields.disabled = v === true;
        break;
    }
  }
  return fields;
}

function enumName(field: DescField, value: unknown): string {
  const known = field.enum?.values.find((v) => v.number === value);
  return known?.name ?? String(value);
}

function requireField(rule: DescMessage, name: string): void {
  if (!rule.fields.some((f) => f.name === name)) {
    throw new Error(`${rule.typeName} in ${rule.file.name}.proto has no field ${name}; is it out of date?`);
  }
}
