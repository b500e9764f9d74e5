// protobuf's second debug_redact form: a custom enum field option whose value carries
// `debug_redact = true` (`[(acme.data_class) = DATA_CLASS_PII]`) makes the field sensitive, as the
// field's own `[debug_redact = true]` does.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactToJson } from "../../src/payload/redact-json.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { buildModule, errorOf, generate, loadGenerated, tempModule } from "./helpers.js";

const OPTIONS = `syntax = "proto3";
package acme;
import "google/protobuf/descriptor.proto";
enum DataClass {
  DATA_CLASS_UNSPECIFIED = 0;
  DATA_CLASS_PUBLIC = 1;
  DATA_CLASS_PII = 2 [debug_redact = true];
}
extend google.protobuf.FieldOptions {
  DataClass data_class = 50001;
  repeated DataClass data_classes = 50002;
  string owner_team = 50003;
}
`;

const AUDIT = 'option (grpcaudit.v1.audit) = { target_type: "person" mutation: MUTATION_TYPE_UPDATE';

/** app/v1/people.proto with a method whose target id is read from `path`. */
function people(path: string): string {
  return `syntax = "proto3";
package app.v1;
import "grpcaudit/v1/annotations.proto";
import "acme/options.proto";
message Person {
  string id = 1 [(acme.data_class) = DATA_CLASS_PUBLIC, (acme.owner_team) = "core"];
  string ssn = 2 [(acme.data_class) = DATA_CLASS_PII];
  string phone = 3 [(acme.data_classes) = DATA_CLASS_PUBLIC, (acme.data_classes) = DATA_CLASS_PII];
  string nick = 4 [(acme.data_classes) = DATA_CLASS_PUBLIC];
  Address home = 5 [(acme.data_class) = DATA_CLASS_PII];
  string plain = 6;
}
message Address { string id = 1; }
service People {
  rpc Put(Person) returns (Person) { ${AUDIT} target_id_field: "${path}" payload: PAYLOAD_CAPTURE_REDACTED }; }
}
`;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The plugin's output (or error) for people.proto with the target id read from `path`. */
function run(path: string): { dir: string; error: string } {
  const dir = tempModule({ "acme/options.proto": OPTIONS, "app/v1/people.proto": people(path) });
  dirs.push(dir);
  return { dir, error: errorOf(buildModule(dir), ["app/v1/people.proto"]) };
}

describe("a field marked through an enum option value with debug_redact", () => {
  let shape: MessageShape;
  beforeAll(async () => {
    const { dir } = run("req.id");
    const output = generate(buildModule(dir), ["app/v1/people.proto"]);
    const file = "app/v1/people_audit.ts";
    const module = await loadGenerated(dir, `js/${file}`, output.get(file) ?? "");
    const rule = (module.auditRules as RuleTable)["/app.v1.People/Put"];
    if (rule?.requestShape === undefined) throw new Error("no request shape");
    shape = rule.requestShape;
  }, 60_000);

  it("is sensitive, alone or among the values of a repeated option; other values and options are not", () => {
    expect(shape.fields.map((f) => [f.name, f.sensitive])).toEqual([
      ["id", false],
      ["ssn", true],
      ["phone", true],
      ["nick", false],
      ["home", true],
      ["plain", false],
    ]);
  });

  it("is left out of the captured payload", () => {
    const person = { id: "p-1", ssn: "078-05-1120", phone: "555", nick: "n", home: { id: "h" }, plain: "x" };
    expect(redactToJson(shape, person)).toEqual({ id: "p-1", nick: "n", plain: "x" });
  });

  it("is refused as a target id, like every sensitive field, and so is a path through one", () => {
    const refused = (path: string, field: string, message: string) =>
      `AuditRuleError: app/v1/people.proto: app.v1.People.Put: (grpcaudit.v1.audit).target_id_field "${path}": field "${field}" of app.v1.${message} is sensitive; an id read from it would be recorded`;
    expect(run("req.ssn").error).toBe(refused("req.ssn", "ssn", "Person"));
    expect(run("req.phone").error).toBe(refused("req.phone", "phone", "Person"));
    expect(run("req.home.id").error).toBe(refused("req.home.id", "home", "Person"));
    expect(run("req.nick").error).toBe("");
  });
});
