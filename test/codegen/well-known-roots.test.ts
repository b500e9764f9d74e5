// A method whose request or response is itself a google.protobuf type: ts-proto passes most of them as a
// bare value (a Date, a string, a plain object), so ids read from them and payloads captured of them would
// be silently wrong. The build refuses both and says to wrap the type in a message of one's own.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModule, errorOf, generate, tempModule } from "./helpers.js";

const HEADER = `syntax = "proto3";
import "grpcaudit/v1/annotations.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
`;

const WRONG = `${HEADER}package w;
message Req { string id = 1; }
service S {
  option (grpcaudit.v1.audit_default) = { mutation: MUTATION_TYPE_CREATE target_type: "x" };
  rpc A(google.protobuf.Timestamp) returns (google.protobuf.Duration) { option (grpcaudit.v1.audit) = { target_id_field: "req.seconds" }; }
  rpc B(Req) returns (google.protobuf.Int64Value) { option (grpcaudit.v1.audit) = { target_id_field: "resp.value" }; }
  rpc C(google.protobuf.StringValue) returns (Req) { option (grpcaudit.v1.audit) = { payload: PAYLOAD_CAPTURE_REDACTED }; }
  rpc D(Req) returns (google.protobuf.Timestamp) { option (grpcaudit.v1.audit) = { payload: PAYLOAD_CAPTURE_DIGEST }; }
  rpc E(google.protobuf.ListValue) returns (Req) { option (grpcaudit.v1.audit) = { payload: PAYLOAD_CAPTURE_DIGEST }; }
}
`;

// Empty is \`{}\` everywhere; a well-known root is fine when nothing reads it.
const FINE = `${HEADER}package fine;
message Req { string id = 1; }
service S {
  option (grpcaudit.v1.audit_default) = { mutation: MUTATION_TYPE_CREATE target_type: "x" payload: PAYLOAD_CAPTURE_REDACTED };
  rpc F(google.protobuf.Empty) returns (Req) { option (grpcaudit.v1.audit) = { target_id_field: "resp.id" }; }
  rpc G(Req) returns (google.protobuf.Empty) { option (grpcaudit.v1.audit) = { target_id_field: "req.id" }; }
  rpc H(google.protobuf.Timestamp) returns (Req) { option (grpcaudit.v1.audit) = { payload: PAYLOAD_CAPTURE_NONE target_id_field: "resp.id" }; }
}
`;

const AUTHZ = `${HEADER}package az;
service S {
  rpc Get(google.protobuf.StringValue) returns (google.protobuf.Empty) {
    option (grpcaudit.v1.authz) = { relation: "viewer" object_type: "doc" object_id_field: "req.value" };
  }
}
`;

let dir = "";
beforeAll(() => {
  dir = tempModule({ "w.proto": WRONG, "fine.proto": FINE, "az.proto": AUTHZ });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PATH = "well-known types cannot be on the path; wrap it in a message of your own";
const WHOLE = "payload capture cannot read a well-known type as the whole";
const WRAP = "wrap it in a message of your own";

describe("a google.protobuf type as the whole request or response", () => {
  it("refuses an id path rooted at it, and payload capture of it, naming file, method and option", () => {
    const line = (method: string, problem: string) =>
      `w.proto: w.S.${method}: (grpcaudit.v1.audit).${problem}`;
    expect(errorOf(buildModule(dir), ["w.proto"])).toBe(
      `AuditRuleError: 5 problems in audit and authz rules:\n  ${[
        line("A", `target_id_field "req.seconds": the request has type google.protobuf.Timestamp; ${PATH}`),
        line("B", `target_id_field "resp.value": the response has type google.protobuf.Int64Value; ${PATH}`),
        line("C", `payload: req has type google.protobuf.StringValue; ${WHOLE} request; ${WRAP}`),
        line("D", `payload: resp has type google.protobuf.Timestamp; ${WHOLE} response; ${WRAP}`),
        line("E", `payload: req has type google.protobuf.ListValue; ${WHOLE} request; ${WRAP}`),
      ].join("\n  ")}`,
    );
  });

  it("refuses an authz object_id_field rooted at it", () => {
    expect(errorOf(buildModule(dir), ["az.proto"])).toBe(
      `AuditRuleError: az.proto: az.S.Get: (grpcaudit.v1.authz).object_id_field "req.value": the request has type google.protobuf.StringValue; ${PATH}`,
    );
  });

  it("accepts Empty as either side, and another well-known root that nothing reads", () => {
    const output = generate(buildModule(dir), ["fine.proto"]).get("fine_audit.ts") ?? "";
    for (const method of ["F", "G", "H"]) expect(output).toContain(`"/fine.S/${method}"`);
  });
});
