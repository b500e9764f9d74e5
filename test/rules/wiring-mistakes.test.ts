// Tables passed the wrong way to createAuditInterceptors: each error says which tables clash, or what to
// pass instead of what was given.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { mergeAuthzRuleTables } from "../../src/rules/authz-rule-table.js";

const audit = (method: string): AuditRule => ({
  method,
  format: 2,
  kind: "unary",
  mutation: "create",
  targetType: "project",
  targetIdField: "",
  recordOnError: false,
  targetId: () => "",
});

const authz = (method: string): AuthzRule => ({
  method,
  format: 2,
  kind: "unary",
  public: true,
  relation: "",
  objectType: "",
  objectIdSource: "",
  objectId: () => "",
});

/** What `import * as generated from "./gen/a/v1/a_audit.js"` gives. */
const generated = {
  auditRules: Object.freeze({ "/a.v1.S/M": audit("/a.v1.S/M") }),
  authzRules: Object.freeze({ "/a.v1.S/M": authz("/a.v1.S/M") }),
};

/** The message of the AuditConfigError `merge` throws. */
function errorOf(merge: () => unknown): string {
  try {
    merge();
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("merging rule tables", () => {
  it("names the two tables of a method that has two different entries, by position in the list", () => {
    const other = { "/b.v1.S/N": audit("/b.v1.S/N") };
    const tables = [generated.auditRules, other, { "/a.v1.S/M": audit("/a.v1.S/M") }];
    expect(errorOf(() => mergeRuleTables(tables))).toBe(
      "rules: two different entries for /a.v1.S/M, in rules[0] and rules[2] (two rule files for one method, or two copies of one file)",
    );
    const authzTables = [
      { "/b.v1.S/N": authz("/b.v1.S/N") },
      generated.authzRules,
      { "/a.v1.S/M": authz("/a.v1.S/M") },
    ];
    expect(errorOf(() => mergeAuthzRuleTables(authzTables as AuthzRuleTable[]))).toBe(
      "authz rules: two different entries for /a.v1.S/M, in authz rules[1] and authz rules[2] (two rule files for one method, or two copies of one file)",
    );
  });

  it("refuses a whole generated module, saying which of its tables to pass", () => {
    const module = Object.freeze(Object.setPrototypeOf({ ...generated }, null));
    expect(errorOf(() => mergeRuleTables([module as RuleTable]))).toBe(
      "rules[0] is a whole generated module (import * as …): pass its auditRules, as in rules: [module.auditRules]",
    );
    expect(errorOf(() => mergeAuthzRuleTables([{}, module as AuthzRuleTable]))).toBe(
      "authz rules[1] is a whole generated module (import * as …): pass its authzRules, as in authz.rules: [module.authzRules]",
    );
  });

  it("refuses authz rules given as audit rules, and audit rules given as authz rules, saying what goes where", () => {
    expect(errorOf(() => mergeRuleTables([generated.authzRules as unknown as RuleTable]))).toBe(
      "rules: /a.v1.S/M: an authz rule (it has objectId, not targetId): pass auditRules as rules, and authzRules as authz.rules",
    );
    expect(errorOf(() => mergeAuthzRuleTables([generated.auditRules as unknown as AuthzRuleTable]))).toBe(
      "authz rules: /a.v1.S/M: an audit rule (it has targetId, not objectId): pass authzRules as authz.rules, and auditRules as rules",
    );
  });
});
