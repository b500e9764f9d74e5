/**
 * Turns the audit options of one proto file into checked rules: merges each method's own rule over its
 * service's default, drops disabled rules, and checks every field and id path. Problems are collected,
 * one line each, naming file, method, option path and reason, so that one build reports all of them.
 */
import type { DescFile, DescMethod } from "@bufbuild/protobuf";
import {
  checkMethods,
  type FileRules,
  type MethodResult,
  methodPath,
  overlay,
  type Picked,
  requireRules,
} from "./check-methods.js";
import { nameProblem } from "./check-name.js";
import { type IdPath, resolveIdPath } from "./field-path.js";
import { uncapturable, uncapturableRoot } from "./message-shapes.js";
import type { PluginOptions } from "./options.js";
import { quoteValue } from "./quote-value.js";
import { type AuditOptions, METHOD_OPTION, type RuleFields, SERVICE_OPTION } from "./read-rules.js";
import type { IsSensitive } from "./sensitive.js";

/** What a rule records the call as; the runtime `MutationKind`. */
export type MutationKind = "create" | "update" | "delete";

/** The event a rule records: `resource.mutation` or `resource.access`. */
export type EventKind = "mutation" | "access";

/** What an event keeps of the call's messages; the runtime AuditRule's `payload`. */
export type PayloadCapture = "none" | "digest" | "redacted";

/** What an event keeps of a failed call's status message; the runtime AuditRule's `statusMessage`. */
export type StatusMessagePolicy = "omit" | "truncate" | "record";

/** The effective, enabled and valid rule of one method. */
export interface CheckedRule {
  readonly method: DescMethod;
  /** Full method path, such as "/example.v1.ProjectService/CreateProject". */
  readonly path: string;
  readonly event: EventKind;
  /** For "access" rules a placeholder: the runtime AuditRule requires one, and ignores it for reads. */
  readonly mutation: MutationKind;
  readonly targetType: string;
  /** The `target_id_field` as written, "" for none. */
  readonly targetIdField: string;
  readonly recordOnError: boolean;
  /** "none" unless the rule captures payloads; then every message type on the way is readable. */
  readonly payload: PayloadCapture;
  /** Undefined when the rule does not say (STATUS_MESSAGE_POLICY_UNSPECIFIED or absent). */
  readonly statusMessage: StatusMessagePolicy | undefined;
  /** The resolved `target_id_field`; undefined when the rule has none. */
  readonly targetId: IdPath | undefined;
}

const MUTATIONS: ReadonlyMap<string, MutationKind> = new Map([
  ["MUTATION_TYPE_CREATE", "create"],
  ["MUTATION_TYPE_UPDATE", "update"],
  ["MUTATION_TYPE_DELETE", "delete"],
]);

const MUTATION_NAMES = [...MUTATIONS.keys()].join(", ");

const PAYLOADS: ReadonlyMap<string, PayloadCapture> = new Map([
  ["PAYLOAD_CAPTURE_UNSPECIFIED", "none"],
  ["PAYLOAD_CAPTURE_NONE", "none"],
  ["PAYLOAD_CAPTURE_DIGEST", "digest"],
  ["PAYLOAD_CAPTURE_REDACTED", "redacted"],
]);

/** The values to name in a problem: UNSPECIFIED means the same as leaving the field out. */
const PAYLOAD_NAMES = [...PAYLOADS.keys()].filter((name) => !name.endsWith("_UNSPECIFIED")).join(", ");

const STATUS_MESSAGE_UNSPECIFIED = "STATUS_MESSAGE_POLICY_UNSPECIFIED";

/** STATUS_MESSAGE_POLICY_UNSPECIFIED is absent from the map: the rule then leaves it to the recorder. */
const STATUS_MESSAGES: ReadonlyMap<string, StatusMessagePolicy> = new Map([
  ["STATUS_MESSAGE_POLICY_OMIT", "omit"],
  ["STATUS_MESSAGE_POLICY_TRUNCATE", "truncate"],
  ["STATUS_MESSAGE_POLICY_RECORD", "record"],
]);

const STATUS_MESSAGE_NAMES = [...STATUS_MESSAGES.keys()].join(", ");

const RESOURCE_MUTATION = "EVENT_TYPE_RESOURCE_MUTATION";
const RESOURCE_ACCESS = "EVENT_TYPE_RESOURCE_ACCESS";

const EVENTS: ReadonlyMap<string, EventKind> = new Map([
  [RESOURCE_MUTATION, "mutation"],
  [RESOURCE_ACCESS, "access"],
]);

/** What an access rule carries as `mutation`: AuditRule requires a MutationKind and has no "none". */
const ACCESS_MUTATION: MutationKind = "update";

const WHERE_TO_SET = `set it on the method or in the service's (${SERVICE_OPTION})`;

/** Checks the audit rules of every method of `file`; `audit` is undefined when no file declares the options. */
export function checkFile(
  file: DescFile,
  audit: AuditOptions | undefined,
  options: PluginOptions,
  isSensitive: IsSensitive,
): FileRules<CheckedRule> {
  return requireRules(
    file,
    checkMethods(file, audit, (method, own, serviceDefault) =>
      checkMethod(method, own, serviceDefault, isSensitive),
    ),
    options.requireRules,
    `require_rules=true: methods without (${METHOD_OPTION}) or a service (${SERVICE_OPTION})`,
  );
}

/**
 * The effective rule of one method ("off" when disabled), or the problems that keep it from being
 * generated. The method's own fields win over the service default's. `disabled` is the exception: a
 * method with its own rule is enabled unless that rule says otherwise, since a rule's presence enables it.
 */
function checkMethod(
  method: DescMethod,
  own: RuleFields | undefined,
  serviceDefault: RuleFields | undefined,
  isSensitive: IsSensitive,
): MethodResult<CheckedRule> {
  if (own === undefined && serviceDefault === undefined) return "none";
  const pick = overlay(own, serviceDefault, METHOD_OPTION, SERVICE_OPTION);
  const disabled = own !== undefined ? own.disabled === true : serviceDefault?.disabled === true;
  if (disabled) return "off";

  const problems: string[] = [];
  const eventType = pick("eventType");
  const event = eventType.value === undefined ? "mutation" : EVENTS.get(eventType.value);
  if (event === undefined) {
    problems.push(
      `${eventType.option}.event_type: ${eventType.value} is not supported; rules record ${RESOURCE_MUTATION} or ${RESOURCE_ACCESS}`,
    );
  }
  const mutation = pick("mutation");
  // An unsupported event_type makes `mutation` meaningless: report the event_type alone.
  const mutationKind =
    event === "access"
      ? ACCESS_MUTATION
      : event === "mutation"
        ? checkMutation(mutation, problems)
        : undefined;
  // A mutation the service default lends to every method is meant for its mutation rules; only one set
  // where the rule is made an access rule (or on the method itself) contradicts it.
  if (event === "access" && mutation.value !== undefined) {
    if (mutation.option === eventType.option) {
      problems.push(
        `${mutation.option}.mutation: not allowed for ${RESOURCE_ACCESS} (a read changes nothing); remove it`,
      );
    } else if (own?.mutation !== undefined) {
      // The method names a mutation under a default that makes it a read: it may well change something.
      problems.push(
        `${mutation.option}.mutation: not allowed for ${RESOURCE_ACCESS}, which ${eventType.option}.event_type makes this rule (a read changes nothing); for a method that changes something, also set event_type: ${RESOURCE_MUTATION}, else remove mutation`,
      );
    }
  }
  // Events record it as target.type, as authz decisions record their object type: the same name rule.
  const targetType = pick("targetType");
  const targetTypeProblem =
    targetType.value === undefined ? `: required; ${WHERE_TO_SET}` : nameProblem(targetType.value, "type");
  if (targetTypeProblem !== undefined) problems.push(`${targetType.option}.target_type${targetTypeProblem}`);
  const statusMessage = pick("statusMessage");
  // By the map, not the name's prefix: a policy of a newer annotations.proto must fail, not be dropped.
  if (
    statusMessage.value !== undefined &&
    statusMessage.value !== STATUS_MESSAGE_UNSPECIFIED &&
    !STATUS_MESSAGES.has(statusMessage.value)
  ) {
    problems.push(
      `${statusMessage.option}.status_message: ${statusMessage.value} is not a known policy; use ${STATUS_MESSAGE_NAMES}`,
    );
  }
  const payload = checkPayload(method, pick("payload"), isSensitive, problems);
  const idField = pick("targetIdField");
  const idPath = idField.value ?? "";
  const resolved = idPath !== "" ? resolveIdPath(idPath, method, isSensitive) : undefined;
  if (resolved !== undefined && "reason" in resolved) {
    problems.push(`${idField.option}.target_id_field ${quoteValue(idPath)}: ${resolved.reason}`);
  }
  if (
    problems.length > 0 ||
    event === undefined ||
    mutationKind === undefined ||
    targetType.value === undefined ||
    payload === undefined
  ) {
    return { problems };
  }
  const rule: CheckedRule = {
    method,
    path: methodPath(method),
    event,
    mutation: mutationKind,
    targetType: targetType.value,
    targetIdField: idField.value ?? "",
    recordOnError: pick("recordOnError").value ?? false,
    payload,
    statusMessage: STATUS_MESSAGES.get(statusMessage.value ?? ""),
    targetId: resolved !== undefined && "path" in resolved ? resolved.path : undefined,
  };
  return { rule };
}

/** The mutation of a mutation rule, or undefined after adding its problem: it is required. */
function checkMutation(mutation: Picked<string | undefined>, problems: string[]): MutationKind | undefined {
  if (mutation.value === undefined) {
    problems.push(`${mutation.option}.mutation: required for ${RESOURCE_MUTATION}; ${WHERE_TO_SET}`);
    return undefined;
  }
  const kind = MUTATIONS.get(mutation.value);
  if (kind === undefined) {
    problems.push(`${mutation.option}.mutation: ${mutation.value} is not a mutation; use ${MUTATION_NAMES}`);
  }
  return kind;
}

/**
 * The payload capture of a rule, or undefined after adding its problems: an unknown value, or a message
 * type on the way that capture cannot read (reported per path, in the request, then the response).
 */
function checkPayload(
  method: DescMethod,
  payload: Picked<string | undefined>,
  isSensitive: IsSensitive,
  problems: string[],
): PayloadCapture | undefined {
  const capture = PAYLOADS.get(payload.value ?? "PAYLOAD_CAPTURE_UNSPECIFIED");
  if (capture === undefined) {
    problems.push(
      `${payload.option}.payload: ${payload.value} is not a known capture mode; use ${PAYLOAD_NAMES}`,
    );
    return undefined;
  }
  if (capture === "none") return capture;
  const before = problems.length;
  for (const [root, prefix] of [
    [method.input, "req"],
    [method.output, "resp"],
  ] as const) {
    const whole = uncapturableRoot(root, prefix);
    if (whole !== undefined) {
      problems.push(`${payload.option}.payload: ${whole}`);
      continue;
    }
    for (const where of uncapturable(root, prefix, isSensitive)) {
      problems.push(
        `${payload.option}.payload: ${where}, which payload capture cannot read; mark the field sensitive to leave it out`,
      );
    }
  }
  return problems.length > before ? undefined : capture;
}
