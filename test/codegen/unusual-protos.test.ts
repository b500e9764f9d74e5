// Protos at the edges of what the plugin reads: very deep message nesting, and annotations from a newer
// annotations.proto than the plugin knows. Each must give output or a precise error, never a crash or
// a rule that says less than its option.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildModule, errorOf, generate, tempModule } from "./helpers.js";

const HEADER = 'syntax = "proto3";\nimport "grpcaudit/v1/annotations.proto";\n';
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function module(files: Record<string, string>): string {
  const dir = tempModule(files);
  dirs.push(dir);
  return dir;
}

/**
 * A chain of `depth` message types, each holding the next, the last holding `leaf`; the method captures
 * payloads, so the plugin walks the whole chain.
 */
function chain(depth: number, leaf: string): string {
  const messages = Array.from(
    { length: depth },
    (_, i) => `message M${i} { M${i + 1} next = 1; string id = 2; }`,
  );
  return `${HEADER}import "google/protobuf/struct.proto";
package deep;
${messages.join("\n")}
message M${depth} { ${leaf} }
service S {
  rpc Put(M0) returns (M0) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" target_id_field: "req.next.next.id" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`;
}

// Deeper than the call stack allows a recursive walk (it overflowed near 5,000 on Node 20).
const DEPTH = 10_000;

describe("very deep message nesting", () => {
  it("gives one shape per message type of a chain of 10,000", () => {
    const set = buildModule(module({ "deep.proto": chain(DEPTH, "string id = 1;") }));
    const output = generate(set, ["deep.proto"]).get("deep_audit.ts") ?? "";
    const shapes = output.match(/^const shape_deep_M\d+: AuditMessageShape/gm) ?? [];
    expect(shapes.length).toBe(DEPTH + 1);
  });

  it("names the whole path to a type payload capture cannot read at the end of the chain", () => {
    const set = buildModule(module({ "deep.proto": chain(DEPTH, "google.protobuf.Struct extra = 1;") }));
    const path = `${"next.".repeat(DEPTH)}extra`;
    expect(errorOf(set, ["deep.proto"])).toBe(
      "AuditRuleError: 2 problems in audit and authz rules:\n" +
        `  deep.proto: deep.S.Put: (grpcaudit.v1.audit).payload: req.${path} has type google.protobuf.Struct, which payload capture cannot read; mark the field sensitive to leave it out\n` +
        `  deep.proto: deep.S.Put: (grpcaudit.v1.audit).payload: resp.${path} has type google.protobuf.Struct, which payload capture cannot read; mark the field sensitive to leave it out`,
    );
  });
});

describe("an annotations.proto newer than the plugin", () => {
  it("fails on a status_message policy the plugin does not know, instead of leaving it to the recorder", () => {
    const dir = module({
      "s.proto": `${HEADER}package s;
message Req { string id = 1; }
service S {
  rpc Get(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { event_type: EVENT_TYPE_RESOURCE_ACCESS target_type: "t" status_message: STATUS_MESSAGE_POLICY_HASH };
  }
}
`,
    });
    // A policy added after this plugin was released.
    const annotations = join(dir, "grpcaudit/v1/annotations.proto");
    const text = readFileSync(annotations, "utf8");
    const newer = text.replace(
      "  STATUS_MESSAGE_POLICY_RECORD = 3;\n",
      "  STATUS_MESSAGE_POLICY_RECORD = 3;\n  STATUS_MESSAGE_POLICY_HASH = 4;\n",
    );
    expect(newer).not.toBe(text);
    writeFileSync(annotations, newer);
    expect(errorOf(buildModule(dir), ["s.proto"])).toBe(
      "AuditRuleError: s.proto: s.S.Get: (grpcaudit.v1.audit).status_message: STATUS_MESSAGE_POLICY_HASH is not a known policy; use STATUS_MESSAGE_POLICY_OMIT, STATUS_MESSAGE_POLICY_TRUNCATE, STATUS_MESSAGE_POLICY_RECORD",
    );
  });

  it("fails on an option field the plugin does not know, instead of dropping it", () => {
    const dir = module({
      "n.proto": `${HEADER}package n;
message Req { string id = 1; string pw = 2 [(grpcaudit.v1.field) = { sensitive_in_logs: true }]; }
service S {
  option (grpcaudit.v1.audit_default) = { target_type: "x" capture_metadata: true };
  rpc Do(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_id_field: "req.id" only_realms: ["a"] payload: PAYLOAD_CAPTURE_REDACTED };
    option (grpcaudit.v1.authz) = { relation: "r" object_type: "x" object_id_field: "req.id" object_id_prefix: "tenant-" };
  }
}
`,
    });
    // Fields added after this plugin was released, to each option message.
    const annotations = join(dir, "grpcaudit/v1/annotations.proto");
    const text = readFileSync(annotations, "utf8");
    const added: [after: string, field: string][] = [
      [
        "  optional StatusMessagePolicy status_message = 8;\n",
        "  repeated string only_realms = 9;\n  optional bool capture_metadata = 10;\n",
      ],
      ["  optional bool sensitive = 1;\n", "  optional bool sensitive_in_logs = 2;\n"],
    ];
    let newer = text;
    for (const [after, field] of added) {
      expect(newer).toContain(after);
      newer = newer.replace(after, after + field);
    }
    newer = newer.replace(
      /(message AuthzRule \{[\s\S]*?)\n\}/,
      "$1\n  optional string object_id_prefix = 99;\n}",
    );
    expect(newer).toContain("object_id_prefix");
    writeFileSync(annotations, newer);
    const upgrade =
      "not known to this protoc-gen-grpc-audit (its annotations.proto is newer than the plugin); upgrade the plugin";
    expect(errorOf(buildModule(dir), ["n.proto"])).toBe(
      `AuditRuleError: 4 problems in audit and authz rules:\n  ${[
        `n.proto: n.Req.pw: (grpcaudit.v1.field).sensitive_in_logs: ${upgrade}`,
        `n.proto: n.S: (grpcaudit.v1.audit_default).capture_metadata: ${upgrade}`,
        `n.proto: n.S.Do: (grpcaudit.v1.audit).only_realms: ${upgrade}`,
        `n.proto: n.S.Do: (grpcaudit.v1.authz).object_id_prefix: ${upgrade}`,
      ].join("\n  ")}`,
    );
  });
});
