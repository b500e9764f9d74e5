// What a ruled call hands the Recorder: its target id (when and how read), status code and event input.
import { status as Status } from "@grpc/grpc-js";
import { AuditError } from "../errors/index.js";
import type { ResourceAccessInput, ResourceMutationInput } from "../recorder/inputs.js";
import type { Recorder, RecordOutcome } from "../recorder/recorder.js";
import type { AuditRule } from "../rules/audit-rule.js";

/**
 * When a rule's target id is read: from the first request as received ("req"), from the first
 * response as sent ("resp"), so that a handler changing those objects later does not change it, or at
 * the end (a hand-written rule with another `targetIdField`, or none).
 * @internal
 */
export type IdSide = "req" | "resp" | "end";

/** The `IdSide` of a rule's `targetIdField`. @internal */
export function idSideOf(field: unknown): IdSide {
  if (typeof field !== "string") return "end";
  if (field.startsWith("req.")) return "req";
  return field.startsWith("resp.") ? "resp" : "end";
}

/** The target id `rule` reads from a call's messages; "" when it throws or returns no string. @internal */
export function readTargetId(
  rule: AuditRule,
  recorder: Pick<Recorder, "reportError">,
  request: unknown,
  response: unknown,
): string {
  try {
    const id = rule.targetId(request, response);
    if (typeof id === "string") return id;
    recorder.reportError(new AuditError(`rules: targetId of ${rule.method} returned a ${typeof id}`));
  } catch (error) {
    // Generated extractors never throw; a hand-written one must not break the call, only be counted.
    recorder.reportError(new AuditError(`rules: targetId of ${rule.method} threw`, { cause: error }));
  }
  return "";
}

/**
 * True for a gRPC status code the Recorder takes: an integer from 0 (OK) to 16 (UNAUTHENTICATED).
 * @internal
 */
export function isStatusCode(code: number): boolean {
  return Number.isInteger(code) && code >= Status.OK && code <= Status.UNAUTHENTICATED;
}

/** The Recorder input of `rule`'s event kind, without its optional fields. @internal */
export function ruleInput(
  rule: AuditRule,
  resourceId: string,
  result: { success: boolean; code: number; message: string },
): ResourceAccessInput | ResourceMutationInput {
  // One literal per kind, optional fields set after it: spreads here made three objects per call.
  return rule.event === "access"
    ? { resourceType: rule.targetType, resourceId, operation: rule.method, result }
    : {
        mutation: rule.mutation,
        resourceType: rule.targetType,
        resourceId,
        operation: rule.method,
        result,
      };
}

/** Records `input` as a RESOURCE_MUTATION or RESOURCE_ACCESS event, by its kind. @internal */
export function recordInput(
  recorder: Pick<Recorder, "recordResourceMutation" | "recordResourceAccess">,
  input: ResourceAccessInput | ResourceMutationInput,
): RecordOutcome {
  return "mutation" in input ? recorder.recordResourceMutation(input) : recorder.recordResourceAccess(input);
}
