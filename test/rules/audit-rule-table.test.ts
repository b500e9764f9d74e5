import { describe, expect, it } from "vitest";
import { nameProblem } from "../../packages/protoc-gen-grpc-audit/src/check-name.js";
import { AuditConfigError } from "../../src/errors/index.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";

const rule = (method: string, overrides: Partial<Record<keyof AuditRule, unknown>> = {}): AuditRule =>
  ({
    method,
    kind: "unary",
    mutation: "create",
    targetType: "project",
    targetIdField: "",
    recordOnError: false,
    targetId: () => "",
    ...overrides,
  }) as AuditRule;

const TARGET_TYPE =
  'targetType must be a type name: 1 to 254 characters, no whitespace, control characters, ":", "#" or "@"';

describe("mergeRuleTables", () => {
  it("merges tables from several files and packages by method path", () => {
    const a = { "/a.v1.S/M": rule("/a.v1.S/M") };
    const b = { "/b.v1.S/M": rule("/b.v1.S/M"), "/b.v1.S/N": rule("/b.v1.S/N") };
    const merged = mergeRuleTables([a, b]);
    expect([...merged.keys()]).toStrictEqual(["/a.v1.S/M", "/b.v1.S/M", "/b.v1.S/N"]);
    expect(merged.get("/b.v1.S/N")).toBe(b["/b.v1.S/N"]);
    expect(mergeRuleTables(a).size).toBe(1);
  });

  it("accepts the same table twice but refuses two different rules for one method", () => {
    const a = { "/a.v1.S/M": rule("/a.v1.S/M") };
    expect(mergeRuleTables([a, a]).size).toBe(1);
    expect(() => mergeRuleTables([a, { "/a.v1.S/M": rule("/a.v1.S/M") }])).toThrow(
      "rules: two different entries for /a.v1.S/M, in rules[0] and rules[1] (two rule files for one method, or two copies of one file)",
    );
  });

  it.each([
    [
      "a key that is not a method path",
      { "a.v1.S/M": rule("a.v1.S/M") },
      'rules: a.v1.S/M: key must be a full method path such as "/pkg.Service/Method"',
    ],
    [
      "an entry without a method (an empty object)",
      { "/a.v1.S/M": {} },
      "rules: /a.v1.S/M: entry has no `method` (a rule generated for this method path)",
    ],
    [
      "a method that differs from its key",
      { "/a.v1.S/M": rule("/a.v1.S/N") },
      'rules: /a.v1.S/M: method "/a.v1.S/N" differs from its key',
    ],
    [
      "an unknown kind",
      { "/a.v1.S/M": rule("/a.v1.S/M", { kind: "stream" }) },
      "rules: /a.v1.S/M: kind must be one of unary, server_streaming, client_streaming, bidi_streaming",
    ],
    [
      "an unknown mutation",
      { "/a.v1.S/M": rule("/a.v1.S/M", { mutation: "upsert" }) },
      "rules: /a.v1.S/M: mutation must be one of create, update, delete",
    ],
    [
      "an empty target type",
      { "/a.v1.S/M": rule("/a.v1.S/M", { targetType: "" }) },
      `rules: /a.v1.S/M: ${TARGET_TYPE}`,
    ],
    [
      "a missing extractor",
      { "/a.v1.S/M": rule("/a.v1.S/M", { targetId: "req.id" }) },
      "rules: /a.v1.S/M: targetId must be a function",
    ],
    ["a non-object rule", { "/a.v1.S/M": null }, "rules: /a.v1.S/M: entry must be an object"],
    [
      "an unknown event (a typo would record mutations for reads)",
      { "/a.v1.S/M": rule("/a.v1.S/M", { event: "acces" }) },
      'rules: /a.v1.S/M: event must be "mutation" or "access" when present',
    ],
    [
      "an unknown statusMessage (the Recorder would refuse every event of the method)",
      { "/a.v1.S/M": rule("/a.v1.S/M", { statusMessage: "all" }) },
      'rules: /a.v1.S/M: statusMessage must be "omit", "truncate" or "record" when present',
    ],
  ])("refuses %s with an AuditConfigError naming the method", (_name, table, message) => {
    expect(() => mergeRuleTables(table as unknown as RuleTable)).toThrow(AuditConfigError);
    expect(() => mergeRuleTables(table as unknown as RuleTable)).toThrow(message);
  });

  it.each([
    ["a NUL", "project\0x"],
    ["a newline", "project\nx"],
    ["a space", "my project"],
    ["a separator of OpenFGA's type:id#relation@user", "project:x"],
    ["255 characters", "t".repeat(255)],
    ["not a string", 7],
  ])("refuses a target type with %s, as the plugin does", (_name, targetType) => {
    const table = { "/a.v1.S/M": rule("/a.v1.S/M", { targetType }) };
    expect(() => mergeRuleTables(table)).toThrow(AuditConfigError);
    expect(() => mergeRuleTables(table)).toThrow(`rules: /a.v1.S/M: ${TARGET_TYPE}`);
  });

  it("accepts a target type of 254 characters, multi-byte ones too", () => {
    for (const targetType of ["t".repeat(254), "é".repeat(254), "billing.v1/Invoice"]) {
      expect(mergeRuleTables({ "/a.v1.S/M": rule("/a.v1.S/M", { targetType }) }).size).toBe(1);
    }
  });

  it("agrees with protoc-gen-grpc-audit's check of target_type, so a table it generates loads", () => {
    const values = [
      "project",
      "é".repeat(254),
      "é".repeat(255),
      "a\u0085b",
      "a\u007fb",
      "a@b",
      "a#b",
      "a\tb",
      "",
    ];
    const loads = (targetType: string): boolean => {
      try {
        return mergeRuleTables({ "/a.v1.S/M": rule("/a.v1.S/M", { targetType }) }).size === 1;
      } catch {
        return false;
      }
    };
    for (const targetType of values) {
      expect(loads(targetType), JSON.stringify(targetType)).toBe(
        nameProblem(targetType, "type") === undefined,
      );
    }
  });

  it("refuses a table that is not an object", () => {
    expect(() => mergeRuleTables([null as unknown as RuleTable])).toThrow("rules[0] must be a table");
  });

  it.each([
    ["a Map", new Map([["/a.v1.S/M", rule("/a.v1.S/M")]])],
    ["an array of rules", [rule("/a.v1.S/M")]],
  ])("refuses %s as a table instead of finding no rules in it", (_name, table) => {
    expect(() => mergeRuleTables([table as unknown as RuleTable])).toThrow(AuditConfigError);
    expect(() => mergeRuleTables([table as unknown as RuleTable])).toThrow(
      "rules[0] must be a table (an object keyed by method path)",
    );
  });

  it("accepts a frozen table and one without a prototype", () => {
    const bare: Record<string, AuditRule> = Object.create(null);
    bare["/a.v1.S/M"] = rule("/a.v1.S/M", { event: "access", statusMessage: "omit" });
    const frozen = Object.freeze({ "/a.v1.S/N": Object.freeze(rule("/a.v1.S/N")) });
    expect([...mergeRuleTables([bare, frozen]).keys()]).toStrictEqual(["/a.v1.S/M", "/a.v1.S/N"]);
  });
});
