// The committed rule table of the example service (src/cli/demo/gen/example/v1/projects_audit.ts) at runtime:
// what the rules interceptor reads from it.
import { describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";

const table: RuleTable = auditRules;
const path = (method: string) => `/example.v1.ProjectService/${method}`;

function rule(method: string): AuditRule {
  const found = table[path(method)];
  if (found === undefined) throw new Error(`no rule for ${method}`);
  return found;
}

describe("projects_audit.ts", () => {
  it("has a rule for every audited method, in declaration order, and none for disabled ones", () => {
    expect(Object.keys(table)).toEqual(
      [
        "CreateProject",
        "GetProject",
        "UpdateProject",
        "DeleteProject",
        "AddMember",
        "RemoveMember",
        "ArchiveProject",
        "ImportMembers",
        "SyncMembers",
      ].map(path),
    );
  });

  it("merges the service default under each method's own fields", () => {
    const { targetId: _, ...create } = rule("CreateProject");
    expect(create).toEqual({
      method: path("CreateProject"),
      format: 2,
      kind: "unary",
      mutation: "create",
      targetType: "project",
      targetIdField: "resp.id",
      recordOnError: true,
    });
    const { targetId: __, ...addMember } = rule("AddMember");
    expect(addMember).toEqual({
      method: path("AddMember"),
      format: 2,
      kind: "unary",
      mutation: "create",
      targetType: "member",
      targetIdField: "resp.member_id",
      recordOnError: false,
    });
  });

  it("marks the read GetProject as an access rule", () => {
    const { targetId: _, ...get } = rule("GetProject");
    expect(get).toEqual({
      method: path("GetProject"),
      format: 2,
      kind: "unary",
      event: "access",
      mutation: "update",
      targetType: "project",
      targetIdField: "req.id",
      recordOnError: false,
    });
    expect(rule("GetProject").targetId({ id: "p-9" }, undefined)).toBe("p-9");
    expect(Object.values(table).filter((r) => r.event !== undefined)).toEqual([rule("GetProject")]);
  });

  it("gives each method its call kind", () => {
    expect(Object.fromEntries(Object.values(table).map((r) => [r.method.split("/")[2], r.kind]))).toEqual({
      CreateProject: "unary",
      GetProject: "unary",
      UpdateProject: "unary",
      DeleteProject: "unary",
      AddMember: "unary",
      RemoveMember: "unary",
      ArchiveProject: "server_streaming",
      ImportMembers: "client_streaming",
      SyncMembers: "bidi_streaming",
    });
  });

  it("reads string ids from the request or the response, nested or not", () => {
    expect(
      auditRules["/example.v1.ProjectService/CreateProject"].targetId(undefined, {
        id: "p-1",
        name: "",
        ownerId: "",
      }),
    ).toBe("p-1");
    expect(
      rule("UpdateProject").targetId({ project: { id: "p-2", name: "n", ownerId: "o" } }, undefined),
    ).toBe("p-2");
    expect(rule("DeleteProject").targetId({ id: "p-3" }, undefined)).toBe("p-3");
    expect(rule("ArchiveProject").targetId({ projectId: "p-4" }, undefined)).toBe("p-4");
    expect(rule("ImportMembers").targetId(undefined, { projectId: "p-5", imported: 2 })).toBe("p-5");
  });

  it("renders integer ids as decimal strings, whatever their runtime type", () => {
    expect(rule("AddMember").targetId(undefined, { memberId: 42 })).toBe("42");
    expect(rule("RemoveMember").targetId({ memberId: 0 }, undefined)).toBe("0");
    expect(rule("RemoveMember").targetId({ memberId: 18446744073709551615n }, undefined)).toBe(
      "18446744073709551615",
    );
    expect(rule("SyncMembers").targetId({ member: { memberId: 7 } }, undefined)).toBe("7");
  });

  it("gives an empty id for absent messages and fields, and never throws", () => {
    expect(rule("CreateProject").targetId(undefined, undefined)).toBe("");
    expect(rule("UpdateProject").targetId({}, undefined)).toBe("");
    expect(rule("UpdateProject").targetId({ project: undefined }, undefined)).toBe("");
    expect(rule("AddMember").targetId(undefined, {})).toBe("");
    expect(rule("RemoveMember").targetId({ memberId: null }, undefined)).toBe("");
    expect(rule("SyncMembers").targetId({}, undefined)).toBe("");
    expect(rule("SyncMembers").targetId({ member: null }, undefined)).toBe("");
    // The id comes from one side only: the other is not read.
    expect(rule("CreateProject").targetId({ id: "ignored" }, undefined)).toBe("");
  });

  it("is frozen", () => {
    expect(Object.isFrozen(auditRules)).toBe(true);
    for (const r of Object.values(table)) expect(Object.isFrozen(r)).toBe(true);
  });

  it("passes the runtime checks of mergeRuleTables", () => {
    expect([...mergeRuleTables(auditRules).keys()]).toEqual(Object.keys(table));
  });
});
