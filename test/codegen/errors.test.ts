// Invalid audit rules fail generation with one error naming file, method, option path and reason for
// every problem; each fixture in test/fixtures/errors holds one kind of mistake (errors/authz/ holds the
// authz ones, tested in authz-errors.test.ts).
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOPLUGIN_OPTIONS } from "../../packages/protoc-gen-grpc-audit/src/options.js";
import { buildFixtures, errorOf as errorIn, fixtureFiles } from "./helpers.js";

let image: FileDescriptorSet;
beforeAll(() => {
  image = buildFixtures();
});

const errorOf = (files: readonly string[], parameter?: string) => errorIn(image, files, parameter);

/** `AuditRuleError: errors/<name>.proto: fixtures.errors.<name>.S.M: <problem>`. */
function ruleError(name: string, problem: string): string {
  return `AuditRuleError: errors/${name}.proto: fixtures.errors.${name}.S.M: ${problem}`;
}

const WHERE_TO_SET = "set it on the method or in the service's (grpcaudit.v1.audit_default)";
const LEAF = "the path must end at a string or integer field";
const SINGULAR = "only singular fields can be on the path";

describe("invalid rules", () => {
  const cases: [name: string, problem: string][] = [
    [
      "unknown_field",
      '(grpcaudit.v1.audit).target_id_field "req.project.nope": no field "nope" in fixtures.errors.Project',
    ],
    [
      "repeated_field",
      `(grpcaudit.v1.audit).target_id_field "req.projects.id": field "projects" of fixtures.errors.Request is repeated; ${SINGULAR}`,
    ],
    [
      "repeated_leaf",
      `(grpcaudit.v1.audit).target_id_field "req.project.tags": field "tags" of fixtures.errors.Project is repeated; ${SINGULAR}`,
    ],
    [
      "map_field",
      `(grpcaudit.v1.audit).target_id_field "req.labels": field "labels" of fixtures.errors.Request is a map; ${SINGULAR}`,
    ],
    [
      "message_leaf",
      `(grpcaudit.v1.audit).target_id_field "req.project": field "project" of fixtures.errors.Request has type message fixtures.errors.Project; ${LEAF}`,
    ],
    [
      "not_a_message",
      '(grpcaudit.v1.audit).target_id_field "req.id.value": field "id" of fixtures.errors.Request has type string; it has no field "value"',
    ],
    [
      "oneof_member",
      '(grpcaudit.v1.audit).target_id_field "req.name": field "name" of fixtures.errors.Request is in oneof "choice"; oneof members cannot be on the path',
    ],
    [
      "unknown_prefix",
      '(grpcaudit.v1.audit).target_id_field "request.id": must start with "req." or "resp."',
    ],
    ["empty_path", '(grpcaudit.v1.audit).target_id_field "resp.": no field path after "resp."'],
    [
      "empty_segment",
      '(grpcaudit.v1.audit).target_id_field "req.project..id": empty field name in fixtures.errors.Project',
    ],
    [
      "missing_mutation",
      `(grpcaudit.v1.audit).mutation: required for EVENT_TYPE_RESOURCE_MUTATION; ${WHERE_TO_SET}`,
    ],
    [
      "unspecified_mutation",
      "(grpcaudit.v1.audit).mutation: MUTATION_TYPE_UNSPECIFIED is not a mutation; use MUTATION_TYPE_CREATE, MUTATION_TYPE_UPDATE, MUTATION_TYPE_DELETE",
    ],
    ["missing_target_type", `(grpcaudit.v1.audit).target_type: required; ${WHERE_TO_SET}`],
    ["empty_target_type", "(grpcaudit.v1.audit).target_type: must not be empty"],
    [
      "other_event_type",
      "(grpcaudit.v1.audit).event_type: EVENT_TYPE_AUTHN_RESULT is not supported; rules record EVENT_TYPE_RESOURCE_MUTATION or EVENT_TYPE_RESOURCE_ACCESS",
    ],
    [
      "unknown_payload",
      "(grpcaudit.v1.audit).payload: 7 is not a known capture mode; use PAYLOAD_CAPTURE_NONE, PAYLOAD_CAPTURE_DIGEST, PAYLOAD_CAPTURE_REDACTED",
    ],
    [
      "unknown_status_message",
      "(grpcaudit.v1.audit).status_message: 9 is not a known policy; use STATUS_MESSAGE_POLICY_OMIT, STATUS_MESSAGE_POLICY_TRUNCATE, STATUS_MESSAGE_POLICY_RECORD",
    ],
    [
      "access_mutation",
      "(grpcaudit.v1.audit).mutation: not allowed for EVENT_TYPE_RESOURCE_ACCESS (a read changes nothing); remove it",
    ],
  ];

  it("has a test for every error fixture", () => {
    const tested = [
      ...cases.map(([name]) => name),
      "scalar_leaf",
      "bad_target_type",
      "default_problems",
      "access_default_mutation",
      "sensitive_path",
      "payload_unreadable",
      "require_rules",
      "types",
    ];
    const audit = fixtureFiles("errors").filter((file) => !file.startsWith("errors/authz/"));
    expect(audit).toEqual(tested.map((name) => `errors/${name}.proto`).sort());
  });

  it.each(cases)("%s", (name, problem) => {
    expect(errorOf([`errors/${name}.proto`])).toBe(ruleError(name, problem));
  });

  it("reports every leaf that is not a string or an integer, not just the first", () => {
    const line = (method: string, path: string, field: string, type: string) =>
      `errors/scalar_leaf.proto: fixtures.errors.scalar_leaf.S.${method}: (grpcaudit.v1.audit).target_id_field "${path}": field "${field}" of fixtures.errors.scalar_leaf.Thing has type ${type}; ${LEAF}`;
    expect(errorOf(["errors/scalar_leaf.proto"])).toBe(
      `AuditRuleError: 5 problems in audit and authz rules:\n  ${[
        line("Bool", "req.active", "active", "bool"),
        line("Float", "resp.ratio", "ratio", "float"),
        line("Double", "req.score", "score", "double"),
        line("Enum", "req.state", "state", "enum fixtures.errors.scalar_leaf.State"),
        line("Bytes", "req.digest", "digest", "bytes"),
      ].join("\n  ")}`,
    );
  });

  it("rejects target types with control characters, whitespace or separators, or too long", () => {
    const line = (method: string, value: string) =>
      `errors/bad_target_type.proto: fixtures.errors.bad_target_type.S.${method}: (grpcaudit.v1.audit).target_type ${value}`;
    const name = 'not an OpenFGA type name (no whitespace, control characters, ":", "#" or "@")';
    expect(errorOf(["errors/bad_target_type.proto"])).toBe(
      `AuditRuleError: 5 problems in audit and authz rules:\n  ${[
        line("Nul", `"project\\u0000x": ${name}`),
        line("Newline", `"project\\nx": ${name}`),
        line("Space", `"my project": ${name}`),
        line("Separator", `"project:x": ${name}`),
        line(
          "TooLong",
          `"${"t".repeat(20)}…" (255 characters): longer than the 254 characters of an OpenFGA type name`,
        ),
      ].join("\n  ")}`,
    );
  });

  it("names the service default's option for problems inherited from it", () => {
    const prefix = "errors/default_problems.proto: fixtures.errors.default_problems.S";
    const mutation = `(grpcaudit.v1.audit).mutation: required for EVENT_TYPE_RESOURCE_MUTATION; ${WHERE_TO_SET}`;
    expect(errorOf(["errors/default_problems.proto"])).toBe(
      `AuditRuleError: 3 problems in audit and authz rules:\n  ${[
        `${prefix}.A: ${mutation}`,
        `${prefix}.A: (grpcaudit.v1.audit_default).target_id_field "req.created.seconds": field "created" of fixtures.errors.default_problems.Thing has type message google.protobuf.Timestamp; well-known types cannot be on the path`,
        `${prefix}.B: ${mutation}`,
      ].join("\n  ")}`,
    );
  });

  it("rejects a mutation where the rule becomes an access rule, on the default or on the method", () => {
    const prefix = "errors/access_default_mutation.proto: fixtures.errors.access_default_mutation";
    const problem =
      "mutation: not allowed for EVENT_TYPE_RESOURCE_ACCESS (a read changes nothing); remove it";
    // Under an access default, the method's own mutation may be right: its event_type is what is missing.
    const fromDefault =
      "(grpcaudit.v1.audit).mutation: not allowed for EVENT_TYPE_RESOURCE_ACCESS, which (grpcaudit.v1.audit_default).event_type makes this rule (a read changes nothing); for a method that changes something, also set event_type: EVENT_TYPE_RESOURCE_MUTATION, else remove mutation";
    expect(errorOf(["errors/access_default_mutation.proto"])).toBe(
      `AuditRuleError: 2 problems in audit and authz rules:\n  ${[
        `${prefix}.S.M: (grpcaudit.v1.audit_default).${problem}`,
        `${prefix}.T.M: ${fromDefault}`,
      ].join("\n  ")}`,
    );
  });

  it("rejects id paths through or to a sensitive field, whichever marker it has", () => {
    const line = (method: string, path: string, field: string, message: string) =>
      `errors/sensitive_path.proto: fixtures.errors.sensitive_path.S.${method}: (grpcaudit.v1.audit).target_id_field "${path}": field "${field}" of fixtures.errors.sensitive_path.${message} is sensitive; an id read from it would be recorded`;
    expect(errorOf(["errors/sensitive_path.proto"])).toBe(
      `AuditRuleError: 3 problems in audit and authz rules:\n  ${[
        line("Leaf", "req.token", "token", "Account"),
        line("Redacted", "resp.email", "email", "Account"),
        line("Through", "req.secret.id", "secret", "Account"),
      ].join("\n  ")}`,
    );
  });

  it("rejects payload capture that reaches a google.protobuf type it cannot read, naming the path", () => {
    const line = (method: string, where: string) =>
      `errors/payload_unreadable.proto: fixtures.errors.payload_unreadable.S.${method}: (grpcaudit.v1.audit).payload: ${where}, which payload capture cannot read; mark the field sensitive to leave it out`;
    expect(errorOf(["errors/payload_unreadable.proto"])).toBe(
      `AuditRuleError: 5 problems in audit and authz rules:\n  ${[
        line("M", "req.config.extra has type google.protobuf.Value"),
        line("M", "req.masks has type google.protobuf.FieldMask"),
        line("M", "resp.detail has type google.protobuf.Any"),
        "errors/payload_unreadable.proto: fixtures.errors.payload_unreadable.S.Raw: (grpcaudit.v1.audit).payload: req has type google.protobuf.Struct; payload capture cannot read a well-known type as the whole request; wrap it in a message of your own",
        line("Raw", "resp.detail has type google.protobuf.Any"),
      ].join("\n  ")}`,
    );
  });

  it("reports the problems of every file in one error", () => {
    const [count, ...lines] = errorOf([
      "errors/empty_path.proto",
      "kinds.proto",
      "errors/unknown_prefix.proto",
    ]).split("\n  ");
    expect(count).toBe("AuditRuleError: 2 problems in audit and authz rules:");
    expect(lines.map((line) => line.split(":")[0])).toEqual([
      "errors/empty_path.proto",
      "errors/unknown_prefix.proto",
    ]);
  });
});

describe("require_rules", () => {
  it("lists every method without a rule of its own or a service default (a disabled rule counts)", () => {
    expect(errorOf(["errors/require_rules.proto"], "target=ts,require_rules=true")).toBe(
      "AuditRuleError: errors/require_rules.proto: require_rules=true: methods without (grpcaudit.v1.audit) or a service (grpcaudit.v1.audit_default): " +
        "fixtures.errors.require_rules.Audited.Update, fixtures.errors.require_rules.Forgotten.Delete, fixtures.errors.require_rules.Forgotten.List",
    );
  });

  it("also fails for files that do not import the annotations", () => {
    expect(errorOf(["unannotated.proto"], "require_rules=true")).toBe(
      "AuditRuleError: unannotated.proto: require_rules=true: methods without (grpcaudit.v1.audit) or a service (grpcaudit.v1.audit_default): " +
        "fixtures.unannotated.QuietService.Read, fixtures.unannotated.QuietService.Write\n" +
        // The request holds no annotations.proto, as when buf's exclude_types stripped it: the error says so.
        "no file in the request imports grpcaudit/v1/annotations.proto, so no method can have a rule; is exclude_types: [grpcaudit.v1] set on this plugin in buf.gen.yaml? buf then strips the options: set it on ts-proto only",
    );
  });

  it("is off by default and can be turned off", () => {
    expect(errorOf(["errors/require_rules.proto"])).toBe("");
    expect(errorOf(["errors/require_rules.proto"], "require_rules=false")).toBe("");
  });

  it("passes when every method has a rule or a service default", () => {
    expect(errorOf(["kinds.proto", "merge/alpha.proto"], "require_rules=true")).toBe("");
  });
});

describe("plugin parameters", () => {
  it("rejects an unknown parameter", () => {
    expect(errorOf(["kinds.proto"], "target=ts,nope=1")).toBe(
      'PluginOptionError: invalid option "nope=1": unknown option "nope" (protoc-gen-grpc-audit accepts require_rules, require_authz, ' +
        "target, import_extension, js_import_style, rewrite_imports, map_imports, keep_empty_files, ts_nocheck, elide_plugin_version, bootstrap_wkt)",
    );
  });

  it("accepts every protoplugin option its unknown-option error lists", () => {
    const values: Record<string, string> = {
      target: "ts",
      import_extension: "js",
      js_import_style: "module",
      rewrite_imports: "./x/*_pb.js:@scope/x",
      map_imports: "x.js:y.js",
      keep_empty_files: "false",
      ts_nocheck: "false",
      elide_plugin_version: "true",
      bootstrap_wkt: "false",
    };
    expect(Object.keys(values)).toEqual(PROTOPLUGIN_OPTIONS);
    for (const [key, value] of Object.entries(values)) {
      expect(
        errorOf(["kinds.proto"], key === "target" ? `target=${value}` : `target=ts,${key}=${value}`),
        key,
      ).toBe("");
    }
  });

  it("lists the values protoplugin accepts when one of its options has another", () => {
    const errors = ["target=tsx", "import_extension=mjs", "js_import_style=cjs", "keep_empty_files=yes"].map(
      (parameter) => errorOf(["kinds.proto"], parameter),
    );
    expect(errors).toEqual([
      'PluginOptionError: invalid option "target=tsx": target must be js, ts or dts, or several joined with "+" (such as ts+dts), got "tsx"',
      'PluginOptionError: invalid option "import_extension=mjs": import_extension must be none, js or ts, got "mjs"',
      'PluginOptionError: invalid option "js_import_style=cjs": js_import_style must be module or legacy_commonjs, got "cjs"',
      'PluginOptionError: invalid option "keep_empty_files=yes": keep_empty_files must be true, false, 1 or 0, got "yes"',
    ]);
  });

  it("rejects a parameter given twice with different values, instead of letting the last one win", () => {
    expect(errorOf(["kinds.proto"], "target=ts,require_authz=true,require_authz=false")).toBe(
      'PluginOptionError: invalid option "require_authz=true,require_authz=false": require_authz is given twice, as true and as false; keep one',
    );
    expect(errorOf(["kinds.proto"], "require_rules=true,require_rules")).toBe("");
  });

  it("rejects an empty parameter name, such as a trailing comma", () => {
    expect(errorOf(["kinds.proto"], "target=ts,import_extension=js,")).toBe(
      'PluginOptionError: invalid option "": empty option name; remove the extra "," or the "=" without a name',
    );
  });

  it("rejects a require_rules value that is not a boolean", () => {
    expect(errorOf(["kinds.proto"], "require_rules=maybe")).toBe(
      'PluginOptionError: invalid option "require_rules=maybe": require_rules must be true or false, got "maybe"',
    );
  });
});
