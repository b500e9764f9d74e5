// Invalid authz rules fail generation like invalid audit rules: one error naming file, method, option
// path and reason for every problem. Each fixture in test/fixtures/errors/authz holds one kind of mistake.
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFixtures, errorOf as errorIn, fixtureFiles } from "./helpers.js";

let image: FileDescriptorSet;
beforeAll(() => {
  image = buildFixtures();
});

const errorOf = (files: readonly string[], parameter?: string) => errorIn(image, files, parameter);

/** `AuditRuleError: errors/authz/<name>.proto: fixtures.errors.authz.<name>.S.M: <problem>`. */
function ruleError(name: string, problem: string): string {
  return `AuditRuleError: errors/authz/${name}.proto: fixtures.errors.authz.${name}.S.M: ${problem}`;
}

/** The error for several problems of one file: `[<service>.<method>, <problem>]` each. */
function problemsError(name: string, problems: readonly [method: string, problem: string][]): string {
  const lines = problems.map(
    ([method, problem]) => `errors/authz/${name}.proto: fixtures.errors.authz.${name}.${method}: ${problem}`,
  );
  return `AuditRuleError: ${lines.length} problems in audit and authz rules:\n  ${lines.join("\n  ")}`;
}

const AUTHZ = "(grpcaudit.v1.authz)";
const FIELD = `${AUTHZ}.object_id_field`;
const REQUIRED =
  "required unless public: true; set it on the method or in the service's (grpcaudit.v1.authz_default)";
const SINGULAR = "only singular fields can be on the path";
const STREAMING =
  "cannot read the request: the handler starts before the first message; use object_id_metadata or object_id_fixed";
const OPENFGA_NAME = '(no whitespace, control characters, ":", "#" or "@")';

describe("invalid authz rules", () => {
  const cases: [name: string, problem: string][] = [
    ["unknown_field", `${FIELD} "req.project.nope": no field "nope" in fixtures.errors.Project`],
    [
      "repeated_field",
      `${FIELD} "req.projects.id": field "projects" of fixtures.errors.Request is repeated; ${SINGULAR}`,
    ],
    ["map_field", `${FIELD} "req.labels": field "labels" of fixtures.errors.Request is a map; ${SINGULAR}`],
    [
      "message_leaf",
      `${FIELD} "req.project": field "project" of fixtures.errors.Request has type message fixtures.errors.Project; the path must end at a string or integer field`,
    ],
    [
      "scalar_leaf",
      `${FIELD} "req.active": field "active" of fixtures.errors.Request has type bool; the path must end at a string or integer field`,
    ],
    [
      "response_path",
      `${FIELD} "resp.id": authz runs before the handler, so there is no response to read; use a "req." path`,
    ],
    ["unknown_prefix", `${FIELD} "request.id": must start with "req."`],
    [
      "two_sources",
      `${AUTHZ}: more than one object-id source (object_id_field, object_id_fixed); set exactly one`,
    ],
    [
      "no_source",
      `${AUTHZ}: no object-id source; set one of object_id_field, object_id_metadata, object_id_fixed, or public: true`,
    ],
    ["missing_relation", `${AUTHZ}.relation: ${REQUIRED}`],
    ["missing_object_type", `${AUTHZ}.object_type: ${REQUIRED}`],
    [
      "public_with_fields",
      `${AUTHZ}.public: public: true takes no other field; remove relation, object_id_metadata`,
    ],
    ["empty_fixed", `${AUTHZ}.object_id_fixed: must not be empty`],
    [
      "sensitive_field",
      `${FIELD} "req.account_key": field "account_key" of fixtures.errors.authz.sensitive_field.Request is sensitive; an id read from it would be recorded`,
    ],
  ];

  it("has a test for every error fixture", () => {
    const tested = [
      ...cases.map(([name]) => name),
      "bad_names",
      "streaming_path",
      "metadata_key",
      "default_problems",
      "require_authz",
    ];
    expect(fixtureFiles("errors/authz")).toEqual(tested.map((name) => `errors/authz/${name}.proto`).sort());
  });

  it.each(cases)("%s", (name, problem) => {
    expect(errorOf([`errors/authz/${name}.proto`])).toBe(ruleError(name, problem));
  });

  it("rejects relation and object type names OpenFGA cannot parse", () => {
    expect(errorOf(["errors/authz/bad_names.proto"])).toBe(
      problemsError("bad_names", [
        ["S.M", `${AUTHZ}.relation "can edit": not an OpenFGA relation name ${OPENFGA_NAME}`],
        ["S.M", `${AUTHZ}.object_type "project:x": not an OpenFGA type name ${OPENFGA_NAME}`],
        ["S.Control", `${AUTHZ}.relation "can\\u0000edit": not an OpenFGA relation name ${OPENFGA_NAME}`],
        ["S.Control", `${AUTHZ}.object_type "pro\\u0001ject": not an OpenFGA type name ${OPENFGA_NAME}`],
      ]),
    );
  });

  it("rejects request paths on client-streaming and bidi methods, inherited or their own", () => {
    expect(errorOf(["errors/authz/streaming_path.proto"])).toBe(
      problemsError("streaming_path", [
        [
          "S.Client",
          `(grpcaudit.v1.authz_default).object_id_field "req.id": a client-streaming method ${STREAMING}`,
        ],
        ["S.Bidi", `${FIELD} "req.project.id": a bidi method ${STREAMING}`],
      ]),
    );
  });

  it("rejects metadata keys that are not lowercase text gRPC header names", () => {
    const key = `${AUTHZ}.object_id_metadata`;
    expect(errorOf(["errors/authz/metadata_key.proto"])).toBe(
      problemsError("metadata_key", [
        ["S.Upper", `${key} "X-Project-Id": must be lowercase (gRPC header names are)`],
        ["S.Invalid", `${key} "x project": not a gRPC header name (only 0-9, a-z, "_", "-" and ".")`],
        [
          "S.Binary",
          `${key} "x-project-bin": names a binary header ("-bin"), whose values are bytes, not an id`,
        ],
        ["S.Reserved", `${key} "grpc-project": names a header reserved for gRPC itself ("grpc-")`],
        ["S.Empty", `${key}: must not be empty`],
      ]),
    );
  });

  it("names the service default's option for problems inherited from it", () => {
    expect(errorOf(["errors/authz/default_problems.proto"])).toBe(
      problemsError("default_problems", [
        ["Sourced.A", `${AUTHZ}.relation: ${REQUIRED}`],
        [
          "Sourced.A",
          "(grpcaudit.v1.authz_default): more than one object-id source (object_id_field, object_id_fixed); set exactly one",
        ],
        [
          "Public.C",
          "(grpcaudit.v1.authz_default).public: public: true takes no other field; remove object_type",
        ],
        [
          "Public.D",
          `${AUTHZ}.object_type: required unless public: true; set it on the method (the service's (grpcaudit.v1.authz_default) is public and lends no field)`,
        ],
      ]),
    );
  });

  it("reports audit and authz problems of every file in one error, in the request's file order", () => {
    const [count, ...lines] = errorOf([
      "errors/empty_path.proto",
      "authz.proto",
      "errors/authz/no_source.proto",
    ]).split("\n  ");
    expect(count).toBe("AuditRuleError: 2 problems in audit and authz rules:");
    expect(lines).toEqual([
      `errors/authz/no_source.proto: fixtures.errors.authz.no_source.S.M: ${AUTHZ}: no object-id source; set one of object_id_field, object_id_metadata, object_id_fixed, or public: true`,
      'errors/empty_path.proto: fixtures.errors.empty_path.S.M: (grpcaudit.v1.audit).target_id_field "resp.": no field path after "resp."',
    ]);
  });
});

describe("require_authz", () => {
  const missing =
    "require_authz=true: methods without an authz rule (their own (grpcaudit.v1.authz), or a service (grpcaudit.v1.authz_default) with an object-id source or public: true)";

  it("lists every method without an authz rule (public counts; a default without a source does not)", () => {
    expect(errorOf(["errors/authz/require_authz.proto"], "target=ts,require_authz=true")).toBe(
      `AuditRuleError: errors/authz/require_authz.proto: ${missing}: ` +
        "fixtures.errors.authz.require_authz.Checked.Update, fixtures.errors.authz.require_authz.Forgotten.Delete",
    );
  });

  it("also fails for files that do not import the annotations", () => {
    expect(errorOf(["unannotated.proto"], "require_authz=true")).toBe(
      `AuditRuleError: unannotated.proto: ${missing}: fixtures.unannotated.QuietService.Read, fixtures.unannotated.QuietService.Write\n` +
        // The request holds no annotations.proto, as when buf's exclude_types stripped it: the error says so.
        "no file in the request imports grpcaudit/v1/annotations.proto, so no method can have a rule; is exclude_types: [grpcaudit.v1] set on this plugin in buf.gen.yaml? buf then strips the options: set it on ts-proto only",
    );
  });

  it("is off by default, can be turned off, and is independent of require_rules", () => {
    expect(errorOf(["errors/authz/require_authz.proto"], "target=ts")).toBe("");
    expect(errorOf(["errors/authz/require_authz.proto"], "target=ts,require_authz=false")).toBe("");
    // kinds.proto has audit rules for every method but no authz rule.
    expect(errorOf(["kinds.proto"], "target=ts,require_rules=true")).toBe("");
    expect(errorOf(["kinds.proto"], "target=ts,require_authz=true")).toContain(
      "kinds.proto: require_authz=true:",
    );
  });

  it("rejects a value that is not a boolean", () => {
    expect(errorOf(["kinds.proto"], "require_authz=maybe")).toBe(
      'PluginOptionError: invalid option "require_authz=maybe": require_authz must be true or false, got "maybe"',
    );
  });
});
