/**
 * Reads the rule options from the descriptors of a CodeGeneratorRequest: `(grpcaudit.v1.audit)` /
 * `(grpcaudit.v1.audit_default)` holding an AuditRule, and `(grpcaudit.v1.authz)` /
 * `(grpcaudit.v1.authz_default)` holding an AuthzRule. The extensions are looked up by name among the
 * request's files (annotations.proto is always there when a file uses them), so no generated code is
 * needed. Reading only reports what is set; check-rules.ts and check-authz.ts decide what it means.
 */
import {
  createRegistry,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
  isMessage,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";

/** Full name of the audit method option. */
export const METHOD_OPTION = "grpcaudit.v1.audit";
/** Full name of the audit service option. */
export const SERVICE_OPTION = "grpcaudit.v1.audit_default";
/** Full name of the authz method option. */
export const AUTHZ_METHOD_OPTION = "grpcaudit.v1.authz";
/** Full name of the authz service option. */
export const AUTHZ_SERVICE_OPTION = "grpcaudit.v1.authz_default";

/** The fields an `AuditRule` option sets; a field that is not set is undefined. Enums are value names. */
export interface RuleFields {
  readonly eventType: string | undefined;
  readonly mutation: string | undefined;
  readonly targetType: string | undefined;
  readonly targetIdField: string | undefined;
  readonly recordOnError: boolean | undefined;
  readonly disabled: boolean | undefined;
  readonly payload: string | undefined;
  readonly statusMessage: string | undefined;
}

/** The fields an `AuthzRule` option sets; a field that is not set is undefined. */
export interface AuthzFields {
  readonly relation: string | undefined;
  readonly objectType: string | undefined;
  readonly objectIdField: string | undefined;
  readonly objectIdMetadata: string | undefined;
  readonly objectIdFixed: string | undefined;
  readonly public: boolean | undefined;
}

/** A method option, the service option beside it, the message both hold, and how to read that message. */
export interface RuleOptions<F> {
  readonly method: DescExtension;
  readonly service: DescExtension;
  readonly rule: DescMessage;
  readonly read: (fields: SetFields) => F;
  /** The fields of `rule` this plugin reads; an annotations.proto newer than the plugin may have more. */
  readonly known: ReadonlySet<string>;
}

/** The audit options. */
export type AuditOptions = RuleOptions<RuleFields>;
/** The authz options. */
export type AuthzOptions = RuleOptions<AuthzFields>;

/** The fields an option value sets, by .proto name: strings, booleans, and enums as value names. */
type SetFields = ReadonlyMap<string, string | boolean>;

const AUDIT_FIELDS = [
  "event_type",
  "mutation",
  "target_type",
  "target_id_field",
  "record_on_error",
  "disabled",
  "payload",
  "status_message",
] as const;

const AUTHZ_FIELDS = [
  "relation",
  "object_type",
  "object_id_field",
  "object_id_metadata",
  "object_id_fixed",
  "public",
] as const;

/**
 * Finds the audit option extensions among the given files. Returns undefined when no file declares
 * them: then no file can use them either. Throws when they exist with an unexpected shape.
 */
export function findAuditOptions(files: readonly DescFile[]): AuditOptions | undefined {
  return findOptions(files, METHOD_OPTION, SERVICE_OPTION, AUDIT_FIELDS, (f) => ({
    eventType: text(f, "event_type"),
    mutation: text(f, "mutation"),
    targetType: text(f, "target_type"),
    targetIdField: text(f, "target_id_field"),
    recordOnError: flag(f, "record_on_error"),
    disabled: flag(f, "disabled"),
    payload: text(f, "payload"),
    statusMessage: text(f, "status_message"),
  }));
}

/**
 * Finds the authz option extensions among the given files; undefined when no file declares them (an
 * annotations.proto older than the authz options). Throws when they exist with an unexpected shape.
 */
export function findAuthzOptions(files: readonly DescFile[]): AuthzOptions | undefined {
  return findOptions(files, AUTHZ_METHOD_OPTION, AUTHZ_SERVICE_OPTION, AUTHZ_FIELDS, (f) => ({
    relation: text(f, "relation"),
    objectType: text(f, "object_type"),
    objectIdField: text(f, "object_id_field"),
    objectIdMetadata: text(f, "object_id_metadata"),
    objectIdFixed: text(f, "object_id_fixed"),
    public: flag(f, "public"),
  }));
}

/** The fields the method's own option sets, or undefined when it has none. */
export function readMethodRule<F>(method: DescMethod, options: RuleOptions<F>): F | undefined {
  if (!hasOption(method, options.method)) return undefined;
  return options.read(readFields(getOption(method, options.method), options.rule));
}

/** The fields the service's default option sets, or undefined when it has none. */
export function readServiceDefault<F>(service: DescService, options: RuleOptions<F>): F | undefined {
  if (!hasOption(service, options.service)) return undefined;
  return options.read(readFields(getOption(service, options.service), options.rule));
}

function findOptions<F>(
  files: readonly DescFile[],
  methodName: string,
  serviceName: string,
  fieldNames: readonly string[],
  read: (fields: SetFields) => F,
): RuleOptions<F> | undefined {
  const registry = createRegistry(...files);
  const method = registry.getExtension(methodName);
  const service = registry.getExtension(serviceName);
  if (method === undefined || service === undefined) return undefined;
  const rule = method.fieldKind === "message" ? method.message : undefined;
  if (rule === undefined || service.fieldKind !== "message" || service.message.typeName !== rule.typeName) {
    throw new Error(`${methodName} and ${serviceName} must both hold the same message`);
  }
  for (const name of fieldNames) {
    if (!rule.fields.some((f) => f.name === name)) {
      throw new Error(`${rule.typeName} in ${rule.file.name}.proto has no field ${name}; is it out of date?`);
    }
  }
  return { method, service, rule, read, known: new Set(fieldNames) };
}

/** The problem of an option field this plugin does not read: dropping it would record less than asked. */
export function unknownFieldProblem(option: string, name: string): string {
  return `(${option}).${name}: not known to this protoc-gen-grpc-audit (its annotations.proto is newer than the plugin); upgrade the plugin`;
}

/**
 * The fields `extension` sets on `element` that this plugin does not read (from an annotations.proto
 * newer than the plugin), by .proto name; empty when the option is absent.
 */
export function unknownFields<F>(
  element: DescMethod | DescService,
  extension: DescExtension,
  options: RuleOptions<F>,
): string[] {
  if (!hasOption(element, extension)) return [];
  return [...readFields(getOption(element, extension), options.rule).keys()].filter(
    (name) => !options.known.has(name),
  );
}

function readFields(value: unknown, rule: DescMessage): SetFields {
  if (!isMessage(value, rule)) throw new Error(`option value is not a ${rule.typeName}`);
  const r = reflect(rule, value);
  const fields = new Map<string, string | boolean>();
  for (const field of rule.fields) {
    if (!r.isSet(field)) continue;
    const v: unknown = r.get(field);
    if (field.fieldKind === "enum") {
      fields.set(field.name, field.enum.values.find((e) => e.number === v)?.name ?? String(v));
    } else {
      fields.set(field.name, typeof v === "boolean" ? v : String(v));
    }
  }
  return fields;
}

function text(fields: SetFields, name: string): string | undefined {
  const value = fields.get(name);
  return typeof value === "string" ? value : undefined;
}

function flag(fields: SetFields, name: string): boolean | undefined {
  const value = fields.get(name);
  return typeof value === "boolean" ? value : undefined;
}
