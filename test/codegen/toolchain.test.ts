// The compiled plugin under the real tools: `buf generate` with this repository's buf.gen.example.yaml (ts-proto
// and protoc-gen-grpc-audit) must give code that compiles under our strict tsconfig and whose tables are
// RuleTables and AuthzRuleTables, and protoc must get the same output as the in-process run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUF_CONFIG,
  buildFixtures,
  compilePlugin,
  fixtureFiles,
  generate,
  listFiles,
  PARAMETER,
  REPO,
  run,
} from "./helpers.js";

/** Every fixture that generates without error. */
const VALID = fixtureFiles().filter((file) => !file.startsWith("errors/"));
/**
 * Fixtures that import well-known types, which buf.gen.example.yaml (emitImportedFiles=false) does not
 * emit: buf.gen.test.yaml generates them. payload/ also uses `debug_redact`, unknown to Debian's protoc 3.21.
 */
const WITH_WKT = ["payload/payload.proto", "shapes.proto"];
const PROTOC_UNKNOWN = ["payload/payload.proto"];

let plugin: string;
let image: FileDescriptorSet;
const tmp = mkdtempSync(join(tmpdir(), "grpc-audit-codegen-"));

beforeAll(async () => {
  plugin = await compilePlugin();
  image = buildFixtures();
}, 60_000);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("buf generate with ts-proto", () => {
  it("gives code that compiles under the repository's strict tsconfig, with RuleTable and AuthzRuleTable tables", () => {
    const out = join(tmp, "buf");
    // buf.gen.example.yaml runs ts-proto and our plugin, as a user's template does; its outs are
    // relative (src/cli/demo/gen), so --output puts everything under `out`.
    const paths = VALID.filter((file) => !WITH_WKT.includes(file)).flatMap((file) => [
      "--path",
      join("test/fixtures", file),
    ]);
    run("buf", [
      "generate",
      ".",
      "--config",
      BUF_CONFIG,
      "--template",
      "buf.gen.example.yaml",
      "--output",
      out,
      ...paths,
    ]);
    const gen = join(out, "src/cli/demo/gen");
    const tables = listFiles(gen).filter((file) => file.endsWith("_audit.ts"));
    expect(tables).toEqual([
      "access_audit.ts",
      "authz_audit.ts",
      "defaults_audit.ts",
      "imported/service_audit.ts",
      "kinds_audit.ts",
      "merge/alpha_audit.ts",
      "merge/beta_audit.ts",
      "paths_audit.ts",
    ]);
    compile(out, gen, tables);
  }, 120_000); // buf, then tsc over the output: 15 s here, 57 s seen on a loaded machine

  it("gives code with message shapes that compiles, for fixtures with well-known types (buf.gen.test.yaml)", () => {
    const out = join(tmp, "buf-test");
    const paths = WITH_WKT.flatMap((file) => ["--path", join("test/fixtures", file)]);
    run("buf", [
      "generate",
      ".",
      "--config",
      "buf.test.yaml",
      "--template",
      "buf.gen.test.yaml",
      "--output",
      out,
      ...paths,
    ]);
    const gen = join(out, "test/fixtures/gen");
    const tables = listFiles(gen).filter((file) => file.endsWith("_audit.ts"));
    expect(tables).toEqual(["payload/payload_audit.ts", "shapes_audit.ts"]);
    compile(out, gen, tables);
  }, 120_000); // buf, then tsc over the output: 15 s here, 57 s seen on a loaded machine
});

/** Compiles the generated code in `gen` (under `out`) with a module assigning its tables to grpc-audit's types. */
function compile(out: string, gen: string, tables: readonly string[]): void {
  writeFileSync(join(gen, "tables.ts"), tableCheck(gen, tables));
  // An ES module package like this one; module resolution (ts-proto's runtime imports, @types/node)
  // walks up from the files.
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(REPO, "node_modules"), join(out, "node_modules"), "dir");
  writeFileSync(
    join(out, "tsconfig.json"),
    JSON.stringify({
      extends: join(REPO, "tsconfig.json"),
      // Also noPropertyAccessFromIndexSignature, which some users set: generated readers use brackets.
      compilerOptions: {
        rootDir: "/",
        noEmit: true,
        noPropertyAccessFromIndexSignature: true,
      },
      include: [relative(out, gen)],
      exclude: [],
    }),
  );
  run("tsc", ["-p", join(out, "tsconfig.json")]);
}

/** A module that assigns every generated table to grpc-audit's RuleTable or AuthzRuleTable. */
function tableCheck(gen: string, tables: readonly string[]): string {
  const module = (path: string) => relative(gen, join(REPO, path));
  const lines = [
    `import type { RuleTable } from "${module("src/rules/audit-rule.js")}";`,
    `import type { AuthzRuleTable } from "${module("src/rules/authz-rule.js")}";`,
  ];
  tables.forEach((file, i) => {
    lines.push(
      `import { auditRules as audit${i}, authzRules as authz${i} } from "./${file.replace(/\.ts$/, ".js")}";`,
    );
  });
  const list = (name: string) => tables.map((_, i) => `${name}${i}`).join(", ");
  lines.push(`export const auditTables: readonly RuleTable[] = [${list("audit")}];`);
  lines.push(`export const authzTables: readonly AuthzRuleTable[] = [${list("authz")}];`);
  return `${lines.join("\n")}\n`;
}

describe("protoc", () => {
  it("gets the same output as the in-process run", () => {
    const out = join(tmp, "protoc");
    mkdirSync(out);
    run("protoc", [
      `--plugin=protoc-gen-grpc-audit=${plugin}`,
      `--grpc-audit_out=${out}`,
      `--grpc-audit_opt=${PARAMETER}`,
      "-I",
      "proto",
      "-I",
      "test/fixtures",
      ...VALID.filter((file) => !PROTOC_UNKNOWN.includes(file)),
    ]);
    const expected = generate(
      image,
      VALID.filter((file) => !PROTOC_UNKNOWN.includes(file)),
    );
    expect(listFiles(out)).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) {
      expect(readFileSync(join(out, file), "utf8"), file).toBe(content);
    }
  });

  it("shows the plugin's error, naming file, method and option path", () => {
    const out = join(tmp, "protoc-error");
    mkdirSync(dirname(join(out, "x")), { recursive: true });
    expect(() =>
      run("protoc", [
        `--plugin=protoc-gen-grpc-audit=${plugin}`,
        `--grpc-audit_out=${out}`,
        "-I",
        "proto",
        "-I",
        "test/fixtures",
        "errors/unknown_field.proto",
      ]),
    ).toThrow(
      'protoc-gen-grpc-audit: errors/unknown_field.proto: fixtures.errors.unknown_field.S.M: (grpcaudit.v1.audit).target_id_field "req.project.nope": no field "nope" in fixtures.errors.Project',
    );
  });

  it("shows the values protoplugin accepts for one of its options given another", () => {
    const out = join(tmp, "protoc-option");
    mkdirSync(out);
    expect(() =>
      run("protoc", [
        `--plugin=protoc-gen-grpc-audit=${plugin}`,
        `--grpc-audit_out=${out}`,
        "--grpc-audit_opt=target=ts,import_extension=mjs",
        "-I",
        "proto",
        "-I",
        "test/fixtures",
        "kinds.proto",
      ]),
    ).toThrow(
      'protoc-gen-grpc-audit: invalid option "import_extension=mjs": import_extension must be none, js or ts, got "mjs"',
    );
  });
});
