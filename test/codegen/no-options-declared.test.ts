// `exclude_types: [grpcaudit.v1]` on the plugin's own entry in buf.gen.yaml: buf strips the options and
// the import of annotations.proto from the request, so no method has a rule. The plugin says why beside
// the problems of require_rules / require_authz. It cannot tell such a request from one of services that
// have no rules (buf's default `strategy: directory` sends each folder alone): it warns of neither.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePlugin, listFiles, REPO, tempModule } from "./helpers.js";

const PROTO = `syntax = "proto3";
package x.v1;
import "grpcaudit/v1/annotations.proto";
message Req { string id = 1; }
service S {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "thing" target_id_field: "req.id" };
    option (grpcaudit.v1.authz) = { relation: "writer" object_type: "thing" object_id_field: "req.id" };
  }
}
`;

const HINT =
  "no file in the request imports grpcaudit/v1/annotations.proto, so no method can have a rule; is exclude_types: [grpcaudit.v1] set on this plugin in buf.gen.yaml? buf then strips the options: set it on ts-proto only";

let plugin: string;
const dirs: string[] = [];

beforeAll(async () => {
  plugin = await compilePlugin();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `buf generate` of x.proto with the compiled plugin alone, given its buf.gen.yaml entry's extra keys. */
function bufGenerate(
  entry: Record<string, unknown>,
  proto = PROTO,
): {
  status: number | null;
  stderr: string;
  out: string[];
} {
  const dir = tempModule({ "x.proto": proto });
  dirs.push(dir);
  const template = {
    version: "v2",
    plugins: [{ local: ["node", plugin], out: "gen", strategy: "all", ...entry }],
  };
  writeFileSync(join(dir, "buf.gen.yaml"), JSON.stringify(template));
  const result = spawnSync(
    join(REPO, "node_modules/.bin/buf"),
    ["generate", dir, "--template", join(dir, "buf.gen.yaml"), "-o", dir, "--path", join(dir, "x.proto")],
    { cwd: REPO, encoding: "utf8" },
  );
  const gen = join(dir, "gen");
  return { status: result.status, stderr: result.stderr, out: existsSync(gen) ? listFiles(gen) : [] };
}

describe("no file in the request declares the grpcaudit.v1 options", () => {
  it("says nothing for services that import no annotations, as a folder of them under strategy: directory", () => {
    const plain = PROTO.replace(/^import .*\n/m, "").replace(/^ {4}option .*\n/gm, "");
    const { status, stderr, out } = bufGenerate({ strategy: "directory", opt: ["target=ts"] }, plain);
    expect({ status, stderr, out }).toEqual({ status: 0, stderr: "", out: [] });
  });

  it("gives the same reason with the methods that require_rules and require_authz find without a rule", () => {
    const { status, stderr } = bufGenerate({
      exclude_types: ["grpcaudit.v1"],
      opt: ["target=ts", "require_rules=true", "require_authz=true"],
    });
    expect(status).not.toBe(0);
    expect(stderr).toContain(
      "protoc-gen-grpc-audit: 2 problems in audit and authz rules:\n" +
        "  x.proto: require_rules=true: methods without (grpcaudit.v1.audit) or a service (grpcaudit.v1.audit_default): x.v1.S.A\n" +
        "  x.proto: require_authz=true: methods without an authz rule (their own (grpcaudit.v1.authz), or a service (grpcaudit.v1.authz_default) with an object-id source or public: true): x.v1.S.A\n" +
        `${HINT}\n`,
    );
  });

  it("says nothing when the options reach the plugin", () => {
    const { status, stderr, out } = bufGenerate({
      opt: ["target=ts", "require_rules=true", "require_authz=true"],
    });
    expect({ status, stderr, out }).toEqual({ status: 0, stderr: "", out: ["x_audit.ts"] });
  });
});
