// Build errors show a value from the .proto escaped and, when long, cut the same way: U+2028 and U+00A0
// once printed raw, so `object_id_fixed "a b"` was all three of these ids, and a `type:id` too long showed
// all of its type but only ":…" of its id. Audit problems come before authz ones.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildModule, errorOf, tempModule } from "./helpers.js";

const HEADER = 'syntax = "proto3";\nimport "grpcaudit/v1/annotations.proto";\npackage m;\n';
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The problems of m.proto holding methods M0, M1, … with the options `rules`, one line each. */
function problemsOf(rules: readonly string[]): string[] {
  const methods = rules.map((rule, i) => `  rpc M${i}(Req) returns (Req) { ${rule} }`);
  const text = `${HEADER}message Req { string id = 1; }\nservice S {\n${methods.join("\n")}\n}\n`;
  const dir = tempModule({ "m.proto": text });
  dirs.push(dir);
  const error = errorOf(buildModule(dir), ["m.proto"]);
  const [first = "", ...rest] = error.split("\n  ");
  return rest.length > 0 ? rest : [first.replace(/^AuditRuleError: /, "")];
}

const authz = (fields: string) => `option (grpcaudit.v1.authz) = { ${fields} };`;
const audit = (path: string) =>
  `option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" target_id_field: "${path}" };`;

const NOT_AN_ID =
  'not an OpenFGA object id (no "*", ":", "#", whitespace or control characters); every call would be refused';

describe("values in build errors", () => {
  it("tells a line separator and a no-break space from a space in a fixed id", () => {
    const fixed = (id: string) => authz(`relation: "r" object_type: "t" object_id_fixed: "${id}"`);
    expect(problemsOf([fixed("a\u2028b"), fixed("a\u00a0b"), fixed("a b"), fixed("a\u0085b")])).toEqual([
      `m.proto: m.S.M0: (grpcaudit.v1.authz).object_id_fixed "a\\u2028b": ${NOT_AN_ID}`,
      `m.proto: m.S.M1: (grpcaudit.v1.authz).object_id_fixed "a\\u00a0b": ${NOT_AN_ID}`,
      `m.proto: m.S.M2: (grpcaudit.v1.authz).object_id_fixed "a b": ${NOT_AN_ID}`,
      `m.proto: m.S.M3: (grpcaudit.v1.authz).object_id_fixed "a\\u0085b": ${NOT_AN_ID}`,
    ]);
  });

  it("escapes invisible characters in names and in id paths, quotes and backslashes as JSON does", () => {
    expect(
      problemsOf([
        authz('relation: "r" object_type: "a\u3000b" object_id_fixed: "g"'),
        authz('relation: "r\\"\\\\\u2029" object_type: "t" object_id_fixed: "g"'),
        audit("req.a\u200bb"),
        audit("req.id.\ufeff"),
      ]),
    ).toEqual([
      'm.proto: m.S.M2: (grpcaudit.v1.audit).target_id_field "req.a\\u200bb": no field "a\\u200bb" in m.Req',
      'm.proto: m.S.M3: (grpcaudit.v1.audit).target_id_field "req.id.\\ufeff": field "id" of m.Req has type string; it has no field "\\ufeff"',
      'm.proto: m.S.M0: (grpcaudit.v1.authz).object_type "a\\u3000b": not an OpenFGA type name (no whitespace, control characters, ":", "#" or "@")',
      'm.proto: m.S.M1: (grpcaudit.v1.authz).relation "r\\"\\\\\\u2029": not an OpenFGA relation name (no whitespace, control characters, ":", "#" or "@")',
    ]);
  });

  it("cuts a type:id too long like any value too long: its first 20 characters and its length", () => {
    const long = (type: string, id: string) =>
      authz(`relation: "r" object_type: "${type}" object_id_fixed: "${id}"`);
    const path = `req.${"x".repeat(300)}`;
    expect(
      problemsOf([long("t".repeat(200), "g".repeat(60)), long("é".repeat(200), "g"), audit(path)]),
    ).toEqual([
      `m.proto: m.S.M2: (grpcaudit.v1.audit).target_id_field "req.${"x".repeat(16)}…" (304 characters): no field "${"x".repeat(20)}…" (300 characters) in m.Req`,
      `m.proto: m.S.M0: (grpcaudit.v1.authz).object_id_fixed "${"g".repeat(20)}…" (60 characters): the object "${"t".repeat(20)}…" (261 characters) is 261 bytes, more than the 256 OpenFGA accepts; every call would be refused`,
      `m.proto: m.S.M1: (grpcaudit.v1.authz).object_id_fixed "g": the object "${"é".repeat(20)}…" (202 characters) is 402 bytes, more than the 256 OpenFGA accepts; every call would be refused`,
    ]);
  });
});
