// Stand-in for src/gen/example/v1/projects_audit.ts until the plugin generates it (same rules as the
// annotations in proto/example/v1/projects.proto).
import type { RuleTable } from "../../src/rules/rule.js";

type Msg = Record<string, unknown> | undefined;
const text = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const rule = (
  method: string,
  kind: "unary" | "server_streaming" | "client_streaming" | "bidi_streaming",
  mutation: "create" | "update" | "delete",
  targetType: string,
  targetIdField: string,
  recordOnError: boolean,
  targetId: (req: Msg, resp: Msg) => string,
) => ({
  method: `/example.v1.ProjectService/${method}`,
  kind,
  mutation,
  targetType,
  targetIdField,
  recordOnError,
  targetId,
});

const rules = [
  rule("CreateProject", "unary", "create", "project", "resp.id", true, (_q, r) => text(r?.id)),
  rule("UpdateProject", "unary", "update", "project", "req.project.id", false, (q) =>
    text((q?.project as Msg)?.id),
  ),
  rule("DeleteProject", "unary", "delete", "project", "req.id", true, (q) => text(q?.id)),
  rule("AddMember", "unary", "create", "member", "resp.member_id", false, (_q, r) => text(r?.memberId)),
  rule("RemoveMember", "unary", "delete", "member", "req.member_id", true, (q) => text(q?.memberId)),
  rule("ArchiveProject", "server_streaming", "update", "project", "req.project_id", true, (q) =>
    text(q?.projectId),
  ),
  rule("ImportMembers", "client_streaming", "update", "project", "resp.project_id", true, (_q, r) =>
    text(r?.projectId),
  ),
  rule("SyncMembers", "bidi_streaming", "update", "member", "req.member.member_id", true, (q) =>
    text((q?.member as Msg)?.memberId),
  ),
];
export const auditRules: RuleTable = Object.fromEntries(rules.map((r) => [r.method, r]));
