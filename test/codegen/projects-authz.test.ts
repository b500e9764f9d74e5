// The committed authz rule table of the example service (`authzRules` in
// src/cli/demo/gen/example/v1/projects_audit.ts) at runtime: what the authz interceptor reads from it.
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { MetadataReader } from "../../src/context/scope.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { mergeAuthzRuleTables } from "../../src/rules/authz-rule-table.js";

const table: AuthzRuleTable = authzRules;
const path = (method: string) => `/example.v1.ProjectService/${method}`;

function rule(method: string): AuthzRule {
  const found = table[path(method)];
  if (found === undefined) throw new Error(`no authz rule for ${method}`);
  return found;
}

/** grpc-js metadata holding `entries`. */
function metadata(...entries: [key: string, value: string | Buffer][]): Metadata {
  const md = new Metadata();
  for (const [key, value] of entries) md.add(key, value);
  return md;
}

const none = metadata();

describe("authzRules of projects_audit.ts", () => {
  it("has a rule for every method but CreateProject (the NO_RULE example), in declaration order", () => {
    expect(Object.keys(table)).toEqual(
      [
        "GetProject",
        "UpdateProject",
        "DeleteProject",
        "AddMember",
        "RemoveMember",
        "ArchiveProject",
        "ImportMembers",
        "SyncMembers",
        "ListMembers",
      ].map(path),
    );
  });

  it("takes object_type from the service default and the rest from each method", () => {
    const summary = Object.values(table).map(({ objectId: _, ...fields }) => fields);
    const checked = (method: string, kind: string, relation: string, objectIdSource: string) => ({
      method: path(method),
      format: 2,
      kind,
      public: false,
      relation,
      objectType: "project",
      objectIdSource,
    });
    const open = (method: string, kind: string) => ({
      method: path(method),
      format: 2,
      kind,
      public: true,
      relation: "",
      objectType: "",
      objectIdSource: "",
    });
    expect(summary).toEqual([
      open("GetProject", "unary"),
      checked("UpdateProject", "unary", "editor", "req.project.id"),
      checked("DeleteProject", "unary", "owner", "req.id"),
      checked("AddMember", "unary", "editor", "req.project_id"),
      checked("RemoveMember", "unary", "editor", "req.project_id"),
      checked("ArchiveProject", "server_streaming", "editor", "req.project_id"),
      checked("ImportMembers", "client_streaming", "editor", "metadata:x-project-id"),
      checked("SyncMembers", "bidi_streaming", "admin", "fixed:global"),
      open("ListMembers", "server_streaming"),
    ]);
  });

  it("reads request ids, nested or not, and only from the request", () => {
    expect(
      authzRules["/example.v1.ProjectService/UpdateProject"].objectId(
        { project: { id: "p-1", name: "n", ownerId: "o" } },
        none,
      ),
    ).toBe("p-1");
    expect(rule("DeleteProject").objectId({ id: "p-2" }, none)).toBe("p-2");
    expect(rule("ArchiveProject").objectId({ projectId: "p-3" }, metadata(["x-project-id", "p-x"]))).toBe(
      "p-3",
    );
  });

  it("reads metadata ids from the first value, only when it is text", () => {
    const importMembers = rule("ImportMembers");
    expect(importMembers.objectId(undefined, metadata(["x-project-id", "p-4"]))).toBe("p-4");
    expect(
      importMembers.objectId(undefined, metadata(["x-project-id", "p-5"], ["x-project-id", "p-6"])),
    ).toBe("p-5");
    // Metadata keys are case-insensitive in grpc-js: it lowercases them.
    expect(importMembers.objectId(undefined, metadata(["X-Project-Id", "p-7"]))).toBe("p-7");
    // The request is not read, even when it holds a project id.
    expect(importMembers.objectId({ projectId: "p-8" }, none)).toBe("");
  });

  it("gives the fixed id whatever the call carries", () => {
    expect(rule("SyncMembers").objectId(undefined, none)).toBe("global");
    expect(rule("SyncMembers").objectId({ member: { memberId: 7 } }, metadata(["x-project-id", "p-1"]))).toBe(
      "global",
    );
  });

  it('gives "" for public rules and absent ids, and never throws', () => {
    expect(rule("GetProject").objectId({ id: "p-1" }, none)).toBe("");
    expect(rule("ListMembers").objectId(undefined, none)).toBe("");
    expect(rule("UpdateProject").objectId(undefined, none)).toBe("");
    expect(rule("UpdateProject").objectId({}, none)).toBe("");
    expect(rule("UpdateProject").objectId({ project: undefined }, none)).toBe("");
    expect(rule("DeleteProject").objectId({ id: "" }, none)).toBe("");
    expect(rule("ImportMembers").objectId(undefined, none)).toBe("");
    const broken: MetadataReader = {
      get() {
        throw new Error("broken metadata");
      },
    };
    expect(rule("ImportMembers").objectId(undefined, broken)).toBe("");
    const binary: MetadataReader = { get: () => [Buffer.from("p-1")] };
    expect(rule("ImportMembers").objectId(undefined, binary)).toBe("");
  });

  it("is frozen", () => {
    expect(Object.isFrozen(authzRules)).toBe(true);
    for (const r of Object.values(table)) expect(Object.isFrozen(r)).toBe(true);
  });

  it("passes the runtime checks of mergeAuthzRuleTables", () => {
    expect([...mergeAuthzRuleTables(authzRules).keys()]).toEqual(Object.keys(table));
  });
});
