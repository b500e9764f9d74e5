import { AuditConfigError } from "../errors/index.js";
import type { AuditRule, RuleTable } from "./rule.js";

const KINDS = new Set(["unary", "server_streaming", "client_streaming", "bidi_streaming"]);
const MUTATIONS = new Set(["create", "update", "delete"]);

/**
 * Merges generated rule tables into one lookup map keyed by full method path. Checks every rule's
 * shape (hand-written tables are allowed) and throws an AuditConfigError naming the method for a bad
 * rule or for two different rules under one path.
 */
export function mergeRuleTables(tables: RuleTable | readonly RuleTable[]): ReadonlyMap<string, AuditRule> {
  const list = Array.isArray(tables) ? tables : [tables];
  const merged = new Map<string, AuditRule>();
  for (const [i, table] of list.entries()) {
    if (typeof table !== "object" || table === null) {
      throw new AuditConfigError(`rules[${i}] must be a rule table (an object keyed by method path)`);
    }
    for (const [path, rule] of Object.entries(table as RuleTable)) {
      checkRule(path, rule);
      const existing = merged.get(path);
      if (existing !== undefined && existing !== rule) {
        throw new AuditConfigError(`rules: two different rules for ${path}`);
      }
      merged.set(path, rule);
    }
  }
  return merged;
}

function checkRule(path: string, rule: AuditRule): void {
  const fail = (problem: string) => {
    throw new AuditConfigError(`rules: ${path}: ${problem}`);
  };
  if (typeof rule !== "object" || rule === null) fail("rule must be an object");
  if (!/^\/[^/]+\/[^/]+$/.test(path)) fail('key must be a full method path such as "/pkg.Service/Method"');
  if (rule.method !== path) fail(`rule.method ${JSON.stringify(rule.method)} differs from its key`);
  if (!KINDS.has(rule.kind)) fail(`kind must be one of ${[...KINDS].join(", ")}`);
  if (!MUTATIONS.has(rule.mutation)) fail(`mutation must be one of ${[...MUTATIONS].join(", ")}`);
  if (typeof rule.targetType !== "string" || rule.targetType === "")
    fail("targetType must be a non-empty string");
  if (typeof rule.targetIdField !== "string") fail("targetIdField must be a string");
  if (typeof rule.recordOnError !== "boolean") fail("recordOnError must be a boolean");
  if (typeof rule.targetId !== "function") fail("targetId must be a function");
}
