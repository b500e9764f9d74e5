/**
 * Turns the audit options of one proto file into checked rules: merges each method's own rule over its
 * service's default, drops disabled rules, and checks every field and id path. Problems are collected,
 * one line each, naming file, method, option path and reason, so that one build reports all of them.
 */
import type { DescFile, DescMethod } from "@bufbuild/protobuf";
import { type IdPath, resolveIdPath } from "./field-path.js";
import type { PluginOptions } from "./options.js";
import {
  type AuditOptions,
  METHOD_OPTION,
  type RuleFields,
  readMethodRule,
  readServiceDefault,
  SERVICE_OPTION,
} from "./read-rules.js";

/** What a rule records the call as; the runtime `MutationKind`. */
export type MutationKind = "create" | "update" | "delete";

/** The effective, enabled and valid rule of one method. */
export interface CheckedRule {
  readonly method: DescMethod;
  /** Full method path, such as "/example.v1.ProjectService/CreateProject". */
  readonly path: string;
  readonly mutation: MutationKind;
  readonly targetType: string;
  /** The `target_id_field` as written, "" for none. */
  readonly targetIdField: string;
  readonly recordOnError: boolean;
  /** The resolved `target_id_field`; undefined when the rule has none. */
  readonly targetId: IdPath | undefined;
}

/** Rules of one file in declaration order, and every problem found in it. */
export interface FileRules {
  readonly rules: readonly CheckedRule[];
  readonly problems: readonly string[];
}

const MUTATIONS: ReadonlyMap<string, MutationKind> = new Map([
  ["MUTATION_TYPE_CREATE", "create"],
  ["MUTATION_TYPE_UPDATE", "update"],
  ["MUTATION_TYPE_DELETE", "delete"],
]);

const MUTATION_NAMES = [...MUTATIONS.keys()].join(", ");

const RESOURCE_MUTATION = "EVENT_TYPE_RESOURCE_MUTATION";

const WHERE_TO_SET = `set it on the method or in the service's (${SERVICE_OPTION})`;

/** Checks the rules of every method of `file`; `audit` is undefined when no file declares the options. */
export function checkFile(
  file: DescFile,
  audit: AuditOptions | undefined,
  options: PluginOptions,
): FileRules {
  const rules: CheckedRule[] = [];
  const problems: string[] = [];
  const unruled: string[] = [];
  for (const service of file.services) {
    const serviceDefault = audit && readServiceDefault(service, audit);
    for (const method of service.methods) {
      const own = audit && readMethodRule(method, audit);
      if (own === undefined && serviceDefault === undefined) {
        unruled.push(`${service.typeName}.${method.name}`);
        continue;
      }
      const rule = checkMethod(method, own, serviceDefault);
      if (Array.isArray(rule)) {
        problems.push(
          ...rule.map((problem) => `${file.proto.name}: ${service.typeName}.${method.name}: ${problem}`),
        );
      } else if (rule !== undefined) {
        rules.push(rule);
      }
    }
  }
  if (options.requireRules && unruled.length > 0) {
    problems.push(
      `${file.proto.name}: require_rules=true: methods without (${METHOD_OPTION}) or a service (${SERVICE_OPTION}): ${unruled.join(", ")}`,
    );
  }
  return { rules, problems };
}

/** A field of the effective rule and the option it came from (the method's when neither sets it). */
interface Picked<T> {
  readonly value: T | undefined;
  readonly option: string;
}

/**
 * The effective rule of one method (undefined when disabled), or the problems that keep it from being
 * generated. The method's own fields win over the service default's. `disabled` is the exception: a
 * method with its own rule is enabled unless that rule says otherwise, since a rule's presence enables it.
 */
function checkMethod(
  method: DescMethod,
  own: RuleFields | undefined,
  serviceDefault: RuleFields | undefined,
): CheckedRule | string[] | undefined {
  const pick = <K extends keyof RuleFields>(key: K): Picked<RuleFields[K]> => {
    if (own?.[key] !== undefined) return { value: own[key], option: `(${METHOD_OPTION})` };
    if (serviceDefault?.[key] !== undefined)
      return { value: serviceDefault[key], option: `(${SERVICE_OPTION})` };
    return { value: undefined, option: `(${METHOD_OPTION})` };
  };
  const disabled = own !== undefined ? own.disabled === true : serviceDefault?.disabled === true;
  if (disabled) return undefined;

  const problems: string[] = [];
  const eventType = pick("eventType");
  if (eventType.value !== undefined && eventType.value !== RESOURCE_MUTATION) {
    problems.push(
      `${eventType.option}.event_type: ${eventType.value} is not supported; rules record ${RESOURCE_MUTATION}`,
    );
  }
  const mutation = pick("mutation");
  const mutationKind = mutation.value === undefined ? undefined : MUTATIONS.get(mutation.value);
  if (mutation.value === undefined) {
    problems.push(`${mutation.option}.mutation: required for ${RESOURCE_MUTATION}; ${WHERE_TO_SET}`);
  } else if (mutationKind === undefined) {
    problems.push(`${mutation.option}.mutation: ${mutation.value} is not a mutation; use ${MUTATION_NAMES}`);
  }
  const targetType = pick("targetType");
  if (targetType.value === undefined)
    problems.push(`${targetType.option}.target_type: required; ${WHERE_TO_SET}`);
  else if (targetType.value === "") problems.push(`${targetType.option}.target_type: must not be empty`);
  const idField = pick("targetIdField");
  const resolved = idField.value ? resolveIdPath(idField.value, method) : undefined;
  if (resolved !== undefined && "reason" in resolved) {
    problems.push(`${idField.option}.target_id_field ${JSON.stringify(idField.value)}: ${resolved.reason}`);
  }
  if (problems.length > 0 || mutationKind === undefined || targetType.value === undefined) return problems;
  return {
    method,
    path: `/${method.parent.typeName}/${method.name}`,
    mutation: mutationKind,
    targetType: targetType.value,
    targetIdField: idField.value ?? "",
    recordOnError: pick("recordOnError").value ?? false,
    targetId: resolved !== undefined && "path" in resolved ? resolved.path : undefined,
  };
}
