import type { AuditRule, RuleTable } from "./audit-rule.js";
import { AUDIT_TABLES, METHOD_KINDS, mergeTables } from "./merge-tables.js";
import { warnOfStaleRules } from "./rule-format.js";

const MUTATIONS = new Set(["create", "update", "delete"]);
const EVENTS = new Set(["mutation", "access"]);
const STATUS_MESSAGES = new Set(["omit", "truncate", "record"]);

/**
 * protoc-gen-grpc-audit's rule for `target_type`, that of an OpenFGA type name (as for the object type
 * authz decisions record as target.type): an event never carries a cut type or one with whitespace or
 * control characters. The u flag counts characters, as OpenFGA does.
 */
const TARGET_TYPE = /^[^\s\p{Cc}:#@]{1,254}$/u;

/**
 * Merges generated rule tables into one lookup map keyed by full method path. Checks every rule's
 * shape (hand-written tables are allowed) and throws an AuditConfigError naming the method for a bad
 * rule, a rule of a newer format, or two different rules under one path. Payload-capturing rules of
 * an older format get a GRPC_AUDIT_STALE_RULES process warning (once per process) and are used as
 * they are.
 * @internal
 */
export function mergeRuleTables(tables: RuleTable | readonly RuleTable[]): ReadonlyMap<string, AuditRule> {
  const merged = mergeTables(AUDIT_TABLES, tables, (_path, rule, fail) => {
    if (!METHOD_KINDS.has(rule.kind)) fail(`kind must be one of ${[...METHOD_KINDS].join(", ")}`);
    if (!MUTATIONS.has(rule.mutation)) fail(`mutation must be one of ${[...MUTATIONS].join(", ")}`);
    if (typeof rule.targetType !== "string" || !TARGET_TYPE.test(rule.targetType)) {
      fail(
        'targetType must be a type name: 1 to 254 characters, no whitespace, control characters, ":", "#" or "@"',
      );
    }
    if (typeof rule.targetIdField !== "string") fail("targetIdField must be a string");
    if (typeof rule.recordOnError !== "boolean") fail("recordOnError must be a boolean");
    if (typeof rule.targetId !== "function") fail("targetId must be a function");
    // Both are optional; anything else would record a read as a mutation, or make every event refused.
    if (rule.event !== undefined && !EVENTS.has(rule.event))
      fail('event must be "mutation" or "access" when present');
    if (rule.statusMessage !== undefined && !STATUS_MESSAGES.has(rule.statusMessage)) {
      fail('statusMessage must be "omit", "truncate" or "record" when present');
    }
  });
  warnOfStaleRules(merged.values());
  return merged;
}
