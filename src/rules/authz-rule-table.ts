import type { AuthzRule, AuthzRuleTable } from "./authz-rule.js";
import { AUTHZ_TABLES, METHOD_KINDS, mergeTables } from "./merge-tables.js";

/**
 * Merges generated authz rule tables into one lookup map keyed by full method path, checking every
 * rule's shape; throws an AuditConfigError naming the method for a bad rule or a conflict.
 * @internal
 */
export function mergeAuthzRuleTables(
  tables: AuthzRuleTable | readonly AuthzRuleTable[],
): ReadonlyMap<string, AuthzRule> {
  return mergeTables(AUTHZ_TABLES, tables, (_path, rule, fail) => {
    if (!METHOD_KINDS.has(rule.kind)) fail(`kind must be one of ${[...METHOD_KINDS].join(", ")}`);
    if (typeof rule.public !== "boolean") fail("public must be a boolean");
    if (typeof rule.objectId !== "function") fail("objectId must be a function");
    if (rule.public) return;
    if (typeof rule.relation !== "string" || rule.relation === "")
      fail("relation must be a non-empty string");
    if (typeof rule.objectType !== "string" || rule.objectType === "")
      fail("objectType must be a non-empty string");
    if (typeof rule.objectIdSource !== "string" || !/^(req\.|metadata:|fixed:)/.test(rule.objectIdSource)) {
      fail('objectIdSource must start with "req.", "metadata:" or "fixed:"');
    }
    if (
      rule.objectIdSource.startsWith("req.") &&
      (rule.kind === "client_streaming" || rule.kind === "bidi_streaming")
    ) {
      fail(
        "a client-streaming or bidi method cannot read its object id from the request (the handler starts first)",
      );
    }
  });
}
