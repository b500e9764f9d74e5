// Protos as users write them, mistakes included: each case must give rules that compile and load, or one
// precise error naming file, method and option; never a rule that reads the wrong field, nor one that
// has every call refused at run time.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema } from "@bufbuild/protobuf/wkt";
import { Metadata } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";
import type { AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { mergeAuthzRuleTables } from "../../src/rules/authz-rule-table.js";
import {
  buildModule,
  compilePlugin,
  createRequest,
  generateAndCompile,
  listFiles,
  loadGenerated,
  PARAMETER,
  run,
  useTempModules,
} from "./helpers.js";

const HEADER = 'syntax = "proto3";\nimport "grpcaudit/v1/annotations.proto";\n';
const modules = useTempModules();

/** The plugin's error for `m.proto` holding `text` ("" when it generates). */
const errorFor = (text: string): string => modules.errorFor("m.proto", text);

/** The error lines of a run, without the count line of several problems. */
function problems(error: string): string[] {
  const [first = "", ...rest] = error.split("\n  ");
  return rest.length > 0 ? rest : [first.replace(/^AuditRuleError: /, "")];
}

describe("id paths through fields a loader cannot tell apart", () => {
  const SHARED = "so the id could be read from the other one; rename one of them";

  it("refuses API_KEY beside apiKey (proto3, accepted by buf): ts-proto's name of the one is the other", () => {
    // Read as `apiKey ?? API_KEY`, proto-loader's objects (both modes keep API_KEY as it is) gave the
    // sensitive field's value as the target id.
    const error = errorFor(`${HEADER}package m;
message Req { string API_KEY = 1; string apiKey = 2 [(grpcaudit.v1.field) = {sensitive: true}]; }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "key" target_id_field: "req.API_KEY" };
  }
}
`);
    expect(error).toBe(
      `AuditRuleError: m.proto: m.S.Put: (grpcaudit.v1.audit).target_id_field "req.API_KEY": field "API_KEY" of m.Req shares the property name "apiKey" with field "apiKey" of the message, ${SHARED}`,
    );
  });

  it("refuses owner_id beside ownerId (proto2 allows both), on either field and on authz paths", () => {
    const error = errorFor(`syntax = "proto2";
import "grpcaudit/v1/annotations.proto";
package m;
message Owner { optional string owner_id = 1; optional string ownerId = 2; }
message Req { optional Owner owner = 1; }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "o" target_id_field: "req.owner.owner_id" };
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "o" object_id_field: "req.owner.ownerId" };
  }
}
`);
    expect(problems(error)).toEqual([
      `m.proto: m.S.Put: (grpcaudit.v1.audit).target_id_field "req.owner.owner_id": field "owner_id" of m.Owner shares the property name "ownerId" with field "ownerId" of the message, ${SHARED}`,
      `m.proto: m.S.Put: (grpcaudit.v1.authz).object_id_field "req.owner.ownerId": field "ownerId" of m.Owner shares the property name "ownerId" with field "owner_id" of the message, ${SHARED}`,
    ]);
  });

  it("refuses a field named as a oneof's property (proto-loader's `oneofs: true` puts the member's name there)", () => {
    const error = errorFor(`${HEADER}package m;
message Req { string ownerRef = 1; oneof owner_ref { string user = 2; string team = 3; } }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "o" target_id_field: "req.ownerRef" };
  }
}
`);
    expect(error).toBe(
      `AuditRuleError: m.proto: m.S.Put: (grpcaudit.v1.audit).target_id_field "req.ownerRef": field "ownerRef" of m.Req shares the property name "ownerRef" with oneof "owner_ref" of the message, ${SHARED}`,
    );
  });

  it("accepts a field Name beside a proto3 optional name, whose oneof ts-proto does not keep", () => {
    const error = errorFor(`${HEADER}package m;
message Req { string Name = 1; optional string name = 2; }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "o" target_id_field: "req.Name" };
  }
}
`);
    expect(error).toBe("");
  });

  it('says a path ending in a dot has an empty field name, not that a string has no field ""', () => {
    const error = errorFor(`${HEADER}package m;
message Req { string id = 1; }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" target_id_field: "req.id." };
  }
}
`);
    expect(error).toBe(
      'AuditRuleError: m.proto: m.S.Put: (grpcaudit.v1.audit).target_id_field "req.id.": empty field name after "id"',
    );
  });
});

describe("authz rules the runtime or OpenFGA would refuse on every call", () => {
  /** A file with one method M per rule, in order: M0, M1, … */
  function authzFile(rules: readonly string[]): string {
    const methods = rules.map(
      (rule, i) => `  rpc M${i}(Req) returns (Req) { option (grpcaudit.v1.authz) = { ${rule} }; }`,
    );
    return `${HEADER}package m;\nmessage Req { string id = 1; }\nservice S {\n${methods.join("\n")}\n}\n`;
  }

  it("refuses relation and object type names longer than OpenFGA's naming rules allow", () => {
    const fixed = 'object_id_fixed: "g"';
    const error = errorFor(
      authzFile([
        `relation: "${"r".repeat(50)}" object_type: "${"t".repeat(254)}" ${fixed}`,
        `relation: "${"r".repeat(51)}" object_type: "t" ${fixed}`,
        `relation: "r" object_type: "${"é".repeat(255)}" ${fixed}`,
      ]),
    );
    expect(problems(error)).toEqual([
      `m.proto: m.S.M1: (grpcaudit.v1.authz).relation "${"r".repeat(20)}…" (51 characters): longer than the 50 characters of an OpenFGA relation name`,
      `m.proto: m.S.M2: (grpcaudit.v1.authz).object_type "${"é".repeat(20)}…" (255 characters): longer than the 254 characters of an OpenFGA type name`,
    ]);
  });

  it("refuses fixed ids the authz interceptor refuses: wildcard, separators, whitespace, too long", () => {
    const rule = (id: string, type = "system") =>
      `relation: "admin" object_type: "${type}" object_id_fixed: ${JSON.stringify(id)}`;
    const error = errorFor(
      authzFile([
        rule("global"),
        rule("*"),
        rule("a:b"),
        rule("a#b"),
        rule("global id"),
        rule("g".repeat(249)), // "system:" + 249 = 256 bytes: the longest accepted
        rule("g".repeat(250)),
      ]),
    );
    const invalid =
      'not an OpenFGA object id (no "*", ":", "#", whitespace or control characters); every call would be refused';
    expect(problems(error)).toEqual([
      `m.proto: m.S.M1: (grpcaudit.v1.authz).object_id_fixed "*": ${invalid}`,
      `m.proto: m.S.M2: (grpcaudit.v1.authz).object_id_fixed "a:b": ${invalid}`,
      `m.proto: m.S.M3: (grpcaudit.v1.authz).object_id_fixed "a#b": ${invalid}`,
      `m.proto: m.S.M4: (grpcaudit.v1.authz).object_id_fixed "global id": ${invalid}`,
      `m.proto: m.S.M6: (grpcaudit.v1.authz).object_id_fixed "${"g".repeat(20)}…" (250 characters): the object "system:${"g".repeat(13)}…" (257 characters) is 257 bytes, more than the 256 OpenFGA accepts; every call would be refused`,
    ]);
  });

  it("refuses metadata keys grpc-js removes before the interceptors run", () => {
    const rule = (key: string) => `relation: "r" object_type: "t" object_id_metadata: "${key}"`;
    const error = errorFor(authzFile([rule("x-tenant"), rule("content-type"), rule("te")]));
    const removed = "names a header grpc-js removes before the call, so the id would never be found";
    expect(problems(error)).toEqual([
      `m.proto: m.S.M1: (grpcaudit.v1.authz).object_id_metadata "content-type": ${removed}`,
      `m.proto: m.S.M2: (grpcaudit.v1.authz).object_id_metadata "te": ${removed}`,
    ]);
  });

  it("refuses credential headers as the object id's metadata key, the method's or the default's", () => {
    // Generated as "metadata:authorization", the rule put the caller's "Bearer <token>" into the event.
    const rule = (key: string) => `relation: "r" object_type: "t" object_id_metadata: "${key}"`;
    const error = errorFor(
      authzFile([rule("x-tenant"), rule("authorization"), rule("proxy-authorization"), rule("cookie")]),
    );
    const credential =
      "names a credential header; an id read from it would be recorded and sent to the authorizer";
    expect(problems(error)).toEqual([
      `m.proto: m.S.M1: (grpcaudit.v1.authz).object_id_metadata "authorization": ${credential}`,
      `m.proto: m.S.M2: (grpcaudit.v1.authz).object_id_metadata "proxy-authorization": ${credential}`,
      `m.proto: m.S.M3: (grpcaudit.v1.authz).object_id_metadata "cookie": ${credential}`,
    ]);
    const inherited = errorFor(`${HEADER}package m;
message Req { string id = 1; }
service S {
  option (grpcaudit.v1.authz_default) = { relation: "r" object_type: "t" object_id_metadata: "cookie" };
  rpc M(Req) returns (Req);
}
`);
    expect(problems(inherited)).toEqual([
      `m.proto: m.S.M: (grpcaudit.v1.authz_default).object_id_metadata "cookie": ${credential}`,
    ]);
  });
});

describe("proto2, editions, streaming and odd names under buf, protoc, tsc and the runtime", () => {
  const LONG = "L".repeat(200);
  const FILES: Record<string, string> = {
    // proto2: a group, extensions, required and default values; streaming on one or both sides.
    "legacy/v1/legacy.proto": `syntax = "proto2";
import "grpcaudit/v1/annotations.proto";
package legacy.v1;
message Req {
  required int64 num = 1;
  optional group Info = 2 { optional string owner_id = 1; }
  optional int32 count = 3 [default = 5];
  extensions 100 to 200;
}
extend Req { optional string ext_id = 100; }
service Jobs {
  option (grpcaudit.v1.audit_default) = { target_type: "job" mutation: MUTATION_TYPE_UPDATE };
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { target_id_field: "req.info.owner_id" payload: PAYLOAD_CAPTURE_REDACTED };
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "job" object_id_field: "req.num" };
  }
  rpc Watch(Req) returns (stream Req) { option (grpcaudit.v1.audit) = { target_id_field: "resp.num" }; }
  rpc Upload(stream Req) returns (Req) { option (grpcaudit.v1.authz) = { relation: "r" object_type: "job" object_id_metadata: "x-job" }; }
  rpc Sync(stream Req) returns (stream Req) { option (grpcaudit.v1.audit) = { disabled: true }; }
}
`,
    // Editions: implicit presence by default, a delimited (group-encoded) message field, in the payload
    // only: ts-proto cannot decode it, so an id path goes through a length-prefixed one.
    "ed/v1/ed.proto": `edition = "2023";
import "grpcaudit/v1/annotations.proto";
package ed.v1;
option features.field_presence = IMPLICIT;
message Req {
  string id = 1;
  Inner inner = 2 [features.message_encoding = DELIMITED];
  message Inner { int64 n = 1 [features.field_presence = EXPLICIT]; }
  Inner plain = 3;
}
service Jobs {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { target_type: "t" mutation: MUTATION_TYPE_CREATE target_id_field: "req.plain.n" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`,
    // The same service in two packages; method names that are JavaScript words; a very long name;
    // comments with non-ASCII text and a line separator (U+2028, which ends a // comment in JavaScript).
    "a/v1/jobs.proto": `// Überblick: Aufträge \u2028 export const injected = 1;
${HEADER}package a.v1;
// 日本語のコメント
message Function { string class = 1; int64 constructor = 2; }
message ${LONG} { string id = 1; }
service Jobs {
  rpc delete(Function) returns (Function) { option (grpcaudit.v1.audit) = { target_type: "t" mutation: MUTATION_TYPE_DELETE target_id_field: "req.class" }; }
  rpc constructor(Function) returns (Function) { option (grpcaudit.v1.audit) = { target_type: "t" mutation: MUTATION_TYPE_UPDATE target_id_field: "resp.constructor" }; }
  rpc __proto__(Function) returns (Function) { option (grpcaudit.v1.authz) = { public: true }; }
  rpc M${LONG}(${LONG}) returns (${LONG}) { option (grpcaudit.v1.audit) = { target_type: "t" mutation: MUTATION_TYPE_CREATE target_id_field: "req.id" }; }
}
`,
    "b/v1/jobs.proto": `${HEADER}package b.v1;
message Req { string id = 1; }
service Jobs {
  rpc delete(Req) returns (Req) { option (grpcaudit.v1.audit) = { target_type: "t" mutation: MUTATION_TYPE_DELETE target_id_field: "req.id" }; }
}
`,
    // No service: no output.
    "none/v1/none.proto": 'syntax = "proto3";\npackage none.v1;\nmessage Nothing {}\n',
  };
  const TABLES = [
    "a/v1/jobs_audit.ts",
    "b/v1/jobs_audit.ts",
    "ed/v1/ed_audit.ts",
    "legacy/v1/legacy_audit.ts",
  ];

  let plugin: string;
  let dir: string;
  beforeAll(async () => {
    plugin = await compilePlugin();
    dir = modules.make(FILES);
  }, 60_000);

  it("compiles with ts-proto's output under the strict tsconfig, and the runtime loads every table", async () => {
    expect(generateAndCompile(plugin, dir, Object.keys(FILES))).toEqual([]);
    const gen = join(dir, "gen");
    expect(listFiles(gen).filter((file) => file.endsWith("_audit.ts"))).toEqual(TABLES);
    const modules = await Promise.all(
      TABLES.map((file) => loadGenerated(dir, `js/${file}`, readFileSync(join(gen, file), "utf8"))),
    );
    const audit = mergeRuleTables(modules.map((m) => m.auditRules as RuleTable));
    const authz = mergeAuthzRuleTables(modules.map((m) => m.authzRules as AuthzRuleTable));
    expect([...audit.keys()]).toEqual([
      "/a.v1.Jobs/delete",
      "/a.v1.Jobs/constructor",
      `/a.v1.Jobs/M${LONG}`,
      "/b.v1.Jobs/delete",
      "/ed.v1.Jobs/Put",
      "/legacy.v1.Jobs/Put",
      "/legacy.v1.Jobs/Watch",
      "/legacy.v1.Jobs/Upload", // the service default's rule; Sync's own is disabled
    ]);
    expect([...authz.keys()]).toEqual([
      "/a.v1.Jobs/__proto__",
      "/legacy.v1.Jobs/Put",
      "/legacy.v1.Jobs/Upload",
    ]);
    // The group's field, under ts-proto's and proto-loader's names; integers from a Long-like object.
    const put = audit.get("/legacy.v1.Jobs/Put");
    expect(put?.targetId({ info: { ownerId: "o-1" } }, undefined)).toBe("o-1");
    expect(put?.targetId({ info: { owner_id: "o-2" } }, undefined)).toBe("o-2");
    expect(
      authz.get("/legacy.v1.Jobs/Put")?.objectId({ num: { toString: () => "12345678901" } }, new Metadata()),
    ).toBe("12345678901");
    expect(audit.get("/legacy.v1.Jobs/Watch")?.kind).toBe("server_streaming");
    expect(authz.get("/legacy.v1.Jobs/Upload")?.kind).toBe("client_streaming");
    expect(audit.get("/ed.v1.Jobs/Put")?.targetId({ plain: { n: 7 } }, undefined)).toBe("7");
    // A field named constructor is the message's own, never Object.prototype.constructor.
    const ctor = audit.get("/a.v1.Jobs/constructor");
    expect(ctor?.targetId(undefined, {})).toBe("");
    expect(ctor?.targetId(undefined, { constructor: 3 })).toBe("3");
    // The comment's line separator stays inside the comment.
    expect(readFileSync(join(gen, "a/v1/jobs_audit.ts"), "utf8")).not.toMatch(/^export const injected/m);
  }, 120_000);

  it("gives protoc (which knows no editions) the same output as buf for the other files", () => {
    const out = join(dir, "protoc");
    mkdirSync(out);
    const files = ["a/v1/jobs.proto", "b/v1/jobs.proto", "legacy/v1/legacy.proto", "none/v1/none.proto"];
    run("protoc", [
      `--plugin=protoc-gen-grpc-audit=${plugin}`,
      `--grpc-audit_out=${out}`,
      `--grpc-audit_opt=${PARAMETER}`,
      "-I",
      dir,
      ...files.map((file) => join(dir, file)),
    ]);
    const tables = TABLES.filter((file) => !file.startsWith("ed/"));
    expect(listFiles(out)).toEqual(tables);
    for (const file of tables) {
      expect(readFileSync(join(out, file), "utf8"), file).toBe(readFileSync(join(dir, "gen", file), "utf8"));
    }
  }, 60_000);
});

describe("the plugin's bin fed bytes on stdin", () => {
  let plugin: string;
  beforeAll(async () => {
    plugin = await compilePlugin();
  }, 60_000);

  /** Runs the bin on `input`; exit code, stdout and stderr. */
  function runBin(input: Uint8Array): { status: number | null; stdout: Buffer; stderr: string } {
    const result = spawnSync(process.execPath, [plugin], { input, timeout: 20_000 });
    return { status: result.status, stdout: result.stdout, stderr: String(result.stderr) };
  }

  it("answers an empty request with an empty response", () => {
    const { status, stdout, stderr } = runBin(new Uint8Array());
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(fromBinary(CodeGeneratorResponseSchema, stdout).file).toEqual([]);
  }, 60_000); // each run of the bin may take its 20 s on a loaded machine (14.5 s seen)

  it("fails in one line, without a stack trace, on a truncated or garbled request", () => {
    const dir = modules.make({ "m.proto": `${HEADER}package m;\nmessage Req { string id = 1; }\n` });
    const request = toBinary(CodeGeneratorRequestSchema, createRequest(buildModule(dir), ["m.proto"]));
    for (const input of [
      request.subarray(0, request.length - 7),
      request.subarray(0, 3),
      Uint8Array.of(0xff, 0xff),
    ]) {
      const { status, stdout, stderr } = runBin(input);
      expect({ status, stdout: stdout.length, stderr }).toEqual({
        status: 1,
        stdout: 0,
        stderr: expect.stringMatching(/^protoc-gen-grpc-audit: [^\n]+\n$/),
      });
    }
  }, 90_000); // three runs of the bin

  it("names a file to generate that the request does not hold", () => {
    const request = create(CodeGeneratorRequestSchema, { fileToGenerate: ["missing.proto"] });
    const { status, stderr } = runBin(toBinary(CodeGeneratorRequestSchema, request));
    expect({ status, stderr }).toEqual({
      status: 1,
      stderr: "protoc-gen-grpc-audit: files_to_generate missing in the request: missing.proto\n",
    });
  });
});
