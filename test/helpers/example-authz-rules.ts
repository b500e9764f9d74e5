// Authz rules for the example service, written by hand in the shape protoc-gen-grpc-audit generates.
import type { AuthzRule, AuthzRuleTable } from "../../src/authz/rule.js";
import type { MetadataReader } from "../../src/recorder/scope.js";

type Msg = Record<string, unknown> | undefined;
const text = (v: unknown) => (typeof v === "string" ? v : "");
const path = (method: string) => `/example.v1.ProjectService/${method}`;
const rule = (
  method: string,
  kind: AuthzRule["kind"],
  relation: string,
  objectIdSource: string,
  objectId: (request: Msg, metadata: MetadataReader) => string,
): AuthzRule => ({
  method: path(method),
  kind,
  public: false,
  relation,
  objectType: "project",
  objectIdSource,
  objectId,
});

const rules: AuthzRule[] = [
  rule("UpdateProject", "unary", "editor", "req.project.id", (q) => text((q?.project as Msg)?.id)),
  rule("DeleteProject", "unary", "owner", "req.id", (q) => text(q?.id)),
  rule("ArchiveProject", "server_streaming", "editor", "req.project_id", (q) => text(q?.projectId)),
  rule("ImportMembers", "client_streaming", "editor", "metadata:x-project-id", (_q, md) =>
    text(md.get("x-project-id")[0]),
  ),
  rule("SyncMembers", "bidi_streaming", "admin", "fixed:global", () => "global"),
  {
    method: path("GetProject"),
    kind: "unary",
    public: true,
    relation: "",
    objectType: "",
    objectIdSource: "",
    objectId: () => "",
  },
];
/** CreateProject has no rule on purpose: it is the NO_RULE case. */
export const authzRules: AuthzRuleTable = Object.fromEntries(rules.map((r) => [r.method, r]));
