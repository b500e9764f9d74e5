// An id path through a field with a declared default (proto2, or editions with explicit presence) fails
// the build: when the client leaves the field out, a ts-proto server reads the default and a
// proto-loader server reads nothing, so the same call would record different ids.
import { describe, expect, it } from "vitest";
import { useTempModules } from "./helpers.js";

const { errorFor } = useTempModules();

const WHY =
  "loaders disagree on an absent field's default (ts-proto reads it, @grpc/proto-loader only with defaults: true, else nothing), so the id would depend on the server's loader; remove the default";

describe("id paths through a field with a declared default", () => {
  it("refuses a proto2 string leaf with a default, for audit and authz rules", () => {
    const error = errorFor(
      "p2.proto",
      `syntax = "proto2";
package p2.v1;
import "grpcaudit/v1/annotations.proto";
message Req { optional string project_id = 1 [default = "p-default"]; optional string name = 2; }
message Resp {}
service S {
  rpc A(Req) returns (Resp) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "project" target_id_field: "req.project_id" };
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "project" object_id_field: "req.project_id" };
  }
}
`,
    );
    expect(error).toBe(
      "AuditRuleError: 2 problems in audit and authz rules:\n" +
        `  p2.proto: p2.v1.S.A: (grpcaudit.v1.audit).target_id_field "req.project_id": field "project_id" of p2.v1.Req declares [default = "p-default"]; ${WHY}\n` +
        `  p2.proto: p2.v1.S.A: (grpcaudit.v1.authz).object_id_field "req.project_id": field "project_id" of p2.v1.Req declares [default = "p-default"]; ${WHY}`,
    );
  });

  it("refuses an integer leaf with a default at the end of a nested proto2 path", () => {
    const error = errorFor(
      "nested.proto",
      `syntax = "proto2";
package nested.v1;
import "grpcaudit/v1/annotations.proto";
message Ref { optional int64 seq = 1 [default = 7]; }
message Req { optional Ref ref = 1; }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_DELETE target_type: "t" target_id_field: "resp.ref.seq" };
  }
}
`,
    );
    expect(error).toBe(
      `AuditRuleError: nested.proto: nested.v1.S.A: (grpcaudit.v1.audit).target_id_field "resp.ref.seq": field "seq" of nested.v1.Ref declares [default = 7]; ${WHY}`,
    );
  });

  it("refuses an editions field with a default", () => {
    const error = errorFor(
      "ed.proto",
      `edition = "2023";
package ed.v1;
import "grpcaudit/v1/annotations.proto";
message Req { string key = 1 [default = "k"]; }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.authz) = { relation: "writer" object_type: "ed" object_id_field: "req.key" };
  }
}
`,
    );
    expect(error).toBe(
      `AuditRuleError: ed.proto: ed.v1.S.A: (grpcaudit.v1.authz).object_id_field "req.key": field "key" of ed.v1.Req declares [default = "k"]; ${WHY}`,
    );
  });

  it("accepts the same proto2 path when the field declares no default", () => {
    const error = errorFor(
      "plain.proto",
      `syntax = "proto2";
package plain.v1;
import "grpcaudit/v1/annotations.proto";
message Req { optional string project_id = 1; }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "project" target_id_field: "req.project_id" };
  }
}
`,
    );
    expect(error).toBe("");
  });
});
