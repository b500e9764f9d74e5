// An id path through an editions field encoded delimited (`features.message_encoding = DELIMITED`) fails
// the build: ts-proto decodes a group only when the descriptor says TYPE_GROUP (proto2), so it skips such
// a field and a ts-proto server would record the id as "", while @grpc/proto-loader reads it. A proto2
// group, which both loaders decode, stays accepted. Editions need buf: Debian's protoc knows none.
import { describe, expect, it } from "vitest";
import { useTempModules } from "./helpers.js";

const { errorFor } = useTempModules();

const WHY =
  'is encoded delimited (features.message_encoding = DELIMITED); ts-proto decodes only proto2 groups, not such a field, so a ts-proto server would read the id as "" while @grpc/proto-loader reads it; use the default LENGTH_PREFIXED encoding';

describe("id paths through an editions field encoded delimited", () => {
  it("refuses the field's own feature, for audit and authz rules", () => {
    const error = errorFor(
      "ed.proto",
      `edition = "2023";
package ed.v1;
import "grpcaudit/v1/annotations.proto";
message Inner { string id = 1; }
message Req { string id = 1; Inner inner = 2 [features.message_encoding = DELIMITED]; }
service EdService {
  rpc ByInner(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" target_id_field: "req.inner.id" };
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "t" object_id_field: "req.inner.id" };
  }
}
`,
    );
    expect(error).toBe(
      "AuditRuleError: 2 problems in audit and authz rules:\n" +
        `  ed.proto: ed.v1.EdService.ByInner: (grpcaudit.v1.audit).target_id_field "req.inner.id": field "inner" of ed.v1.Req ${WHY}\n` +
        `  ed.proto: ed.v1.EdService.ByInner: (grpcaudit.v1.authz).object_id_field "req.inner.id": field "inner" of ed.v1.Req ${WHY}`,
    );
  });

  it("refuses a field that inherits the encoding from the file, deeper on the path", () => {
    const error = errorFor(
      "file.proto",
      `edition = "2023";
package file.v1;
import "grpcaudit/v1/annotations.proto";
option features.message_encoding = DELIMITED;
message Leaf { int64 seq = 1; }
message Ref { Leaf leaf = 1 [features.message_encoding = LENGTH_PREFIXED]; Leaf other = 2; }
message Req { Ref ref = 1 [features.message_encoding = LENGTH_PREFIXED]; }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" target_id_field: "resp.ref.leaf.seq" };
  }
  rpc B(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" target_id_field: "resp.ref.other.seq" };
  }
}
`,
    );
    expect(error).toBe(
      `AuditRuleError: file.proto: file.v1.S.B: (grpcaudit.v1.audit).target_id_field "resp.ref.other.seq": field "other" of file.v1.Ref ${WHY}`,
    );
  });

  it("accepts a path through a proto2 group, which ts-proto and proto-loader both decode", () => {
    const error = errorFor(
      "group.proto",
      `syntax = "proto2";
package group.v1;
import "grpcaudit/v1/annotations.proto";
message Req { optional group Info = 1 { optional string owner_id = 1; } }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" target_id_field: "req.info.owner_id" };
  }
}
`,
    );
    expect(error).toBe("");
  });
});
