// protoc sends the files to generate in command-line order, and `protoc $(find …)` gives no particular
// one: the output must not depend on it. Two messages whose shape names collide ("o.v1.Foo_Bar" and
// "o.v1.Foo.Bar", both "shape_o_v1_Foo_Bar") printed in the output of c.proto, which a.proto and b.proto
// reach in opposite orders, once gave that name to the one met first, and printed them in that order.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePlugin, listFiles, PARAMETER, run, tempModule } from "./helpers.js";

const CAPTURE =
  'option (grpcaudit.v1.audit) = {mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST};';

const PROTOS = {
  "o/a.proto": `syntax = "proto3";
package o.v1;
import "grpcaudit/v1/annotations.proto";
import "o/c.proto";
message ReqA { Foo.Bar two = 1; Foo_Bar one = 2; }
service A { rpc X(ReqA) returns (ReqA) { ${CAPTURE} } }
`,
  "o/b.proto": `syntax = "proto3";
package o.v1;
import "grpcaudit/v1/annotations.proto";
import "o/c.proto";
message ReqB { Foo_Bar one = 1; Foo.Bar two = 2; }
service B { rpc Y(ReqB) returns (ReqB) { ${CAPTURE} } }
`,
  "o/c.proto": `syntax = "proto3";
package o.v1;
message Foo_Bar { string a = 1; }
message Foo { message Bar { string b = 1; } }
`,
};

let plugin: string;
let dir: string;

beforeAll(async () => {
  plugin = await compilePlugin();
  dir = tempModule(PROTOS);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs plain protoc with the compiled plugin on `files`, in that order; output file name → content. */
function protoc(out: string, files: readonly string[]): Map<string, string> {
  const root = join(dir, out);
  mkdirSync(root);
  run("protoc", [
    `--plugin=protoc-gen-grpc-audit=${plugin}`,
    `--grpc-audit_out=${root}`,
    `--grpc-audit_opt=${PARAMETER}`,
    "-I",
    dir,
    ...files.map((file) => join(dir, file)),
  ]);
  return new Map(listFiles(root).map((file) => [file, readFileSync(join(root, file), "utf8")]));
}

describe("the order of the files on protoc's command line", () => {
  it("gives byte-identical output, whichever file comes first", () => {
    const forward = protoc("abc", ["o/a.proto", "o/b.proto", "o/c.proto"]);
    const reversed = protoc("bac", ["o/b.proto", "o/a.proto", "o/c.proto"]);
    const last = protoc("cba", ["o/c.proto", "o/b.proto", "o/a.proto"]);
    expect([...forward.keys()]).toEqual(["o/a_audit.ts", "o/b_audit.ts", "o/c_audit.ts"]);
    expect(Object.fromEntries(reversed)).toEqual(Object.fromEntries(forward));
    expect(Object.fromEntries(last)).toEqual(Object.fromEntries(forward));
  });

  it("gives a colliding shape name to the message first in type-name order, the other a suffix", () => {
    const c = protoc("names", ["o/b.proto", "o/a.proto", "o/c.proto"]).get("o/c_audit.ts") ?? "";
    expect(c).toContain(
      'export const shape_o_v1_Foo_Bar: AuditMessageShape = Object.freeze({\n  typeName: "o.v1.Foo.Bar",',
    );
    expect(c).toContain(
      'export const shape_o_v1_Foo_Bar$1: AuditMessageShape = Object.freeze({\n  typeName: "o.v1.Foo_Bar",',
    );
  });
});
