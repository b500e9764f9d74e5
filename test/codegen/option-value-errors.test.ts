// Enum values an option cannot take, set by number (`payload: 17`), each reported once with the values it
// accepts; and an unsupported event_type reported alone, without the knock-on problems of a field that
// only a mutation rule reads.
import { describe, expect, it } from "vitest";
import { useTempModules } from "./helpers.js";

const modules = useTempModules();

/** The plugin's error for one file `x.proto` holding service S with `methods`. */
function errorFor(methods: string): string {
  return modules.errorFor(
    "x.proto",
    `syntax = "proto3";
package x.v1;
import "grpcaudit/v1/annotations.proto";
message Req { string id = 1; }
service S {
${methods}
}
`,
  );
}

describe("option values the plugin does not know", () => {
  it("names the accepted values of status_message, payload and mutation alike", () => {
    expect(
      errorFor(`  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: 99 target_type: "t" status_message: 42 payload: 17 };
  }`),
    ).toBe(
      "AuditRuleError: 3 problems in audit and authz rules:\n" +
        "  x.proto: x.v1.S.A: (grpcaudit.v1.audit).mutation: 99 is not a mutation; use MUTATION_TYPE_CREATE, MUTATION_TYPE_UPDATE, MUTATION_TYPE_DELETE\n" +
        "  x.proto: x.v1.S.A: (grpcaudit.v1.audit).status_message: 42 is not a known policy; use STATUS_MESSAGE_POLICY_OMIT, STATUS_MESSAGE_POLICY_TRUNCATE, STATUS_MESSAGE_POLICY_RECORD\n" +
        "  x.proto: x.v1.S.A: (grpcaudit.v1.audit).payload: 17 is not a known capture mode; use PAYLOAD_CAPTURE_NONE, PAYLOAD_CAPTURE_DIGEST, PAYLOAD_CAPTURE_REDACTED",
    );
  });

  it("reports an unsupported event_type alone, not a missing mutation as well", () => {
    // 7 is EVENT_TYPE_RECORD_SUMMARY: an event the recorder makes, which no rule can declare.
    expect(
      errorFor(`  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { event_type: 7 target_type: "t" };
  }`),
    ).toBe(
      "AuditRuleError: x.proto: x.v1.S.A: (grpcaudit.v1.audit).event_type: EVENT_TYPE_RECORD_SUMMARY is not supported; rules record EVENT_TYPE_RESOURCE_MUTATION or EVENT_TYPE_RESOURCE_ACCESS",
    );
  });
});
