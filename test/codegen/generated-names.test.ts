// Identifiers in the generated `<name>_audit.ts` must not clash with the names users give their
// messages and packages. The output must compile under `buf generate` with ts-proto (real buf, real
// ts-proto, real tsc), and a generated id reader must never read something other than the field named.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocGenGrpcAudit } from "../../packages/protoc-gen-grpc-audit/src/plugin.js";
import { compilePlugin, REPO } from "./helpers.js";

const BIN = (tool: string) => join(REPO, "node_modules/.bin", tool);
const HEADER = 'syntax = "proto3";\nimport "grpcaudit/v1/annotations.proto";\n';
const dirs: string[] = [];
let plugin: string;

beforeAll(() => {
  plugin = compilePlugin();
}, 60_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A buf module in a temporary folder holding `files` and grpcaudit/v1/annotations.proto. */
function module(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "grpc-audit-review-"));
  dirs.push(dir);
  cpSync(join(REPO, "proto/grpcaudit"), join(dir, "grpcaudit"), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
  return dir;
}

function image(dir: string): FileDescriptorSet {
  return fromBinary(
    FileDescriptorSetSchema,
    execFileSync(BIN("buf"), ["build", dir, "-o", "-#format=binpb"], { maxBuffer: 64 << 20 }),
  );
}

/** The plugin run in process on `file`; output file name → content. */
function generateIn(dir: string, file: string): Map<string, string> {
  const set = image(dir);
  const response = protocGenGrpcAudit.run(
    create(CodeGeneratorRequestSchema, {
      fileToGenerate: [file],
      parameter: "target=ts,import_extension=js",
      protoFile: set.file,
      sourceFileDescriptors: set.file.filter((f) => f.name === file),
    }),
  );
  expect(response.error ?? "").toBe("");
  return new Map(response.file.map((f) => [f.name, f.content]));
}

/**
 * `buf generate` with ts-proto and the compiled plugin (the options of buf.gen.example.yaml), then tsc
 * under the repository's strict tsconfig. Returns tsc's error lines ([] when it compiles).
 */
function generateAndCompile(dir: string, files: readonly string[]): string[] {
  const template = {
    version: "v2",
    plugins: [
      {
        local: ["node", join(REPO, "node_modules/ts-proto/protoc-gen-ts_proto")],
        out: "gen",
        strategy: "all",
        opt: [
          "esModuleInterop=true",
          "useOptionals=messages",
          "oneof=unions-value",
          "importSuffix=.js",
          "env=node",
          "outputServices=grpc-js",
          "stringEnums=true",
          "useDate=true",
          "forceLong=number",
          "emitImportedFiles=false",
        ],
      },
      { local: ["node", plugin], out: "gen", strategy: "all", opt: ["target=ts", "import_extension=js"] },
    ],
  };
  writeFileSync(join(dir, "buf.gen.yaml"), JSON.stringify(template));
  execFileSync(
    BIN("buf"),
    [
      "generate",
      dir,
      "--template",
      join(dir, "buf.gen.yaml"),
      "-o",
      dir,
      ...files.flatMap((f) => ["--path", join(dir, f)]),
    ],
    { cwd: dir, stdio: "pipe" },
  );
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: join(REPO, "tsconfig.json"),
      compilerOptions: { rootDir: "/", noEmit: true },
      include: ["gen"],
      exclude: [],
    }),
  );
  try {
    execFileSync(BIN("tsc"), ["-p", join(dir, "tsconfig.json")], { cwd: dir, stdio: "pipe" });
    return [];
  } catch (error: unknown) {
    const { stdout } = error as { stdout: Buffer };
    return String(stdout)
      .split("\n")
      .filter((line) => /error TS\d+/.test(line));
  }
}

/** Transpiles one generated TypeScript file (its imports are type-only) and imports it. */
async function load(dir: string, name: string, content: string): Promise<Record<string, unknown>> {
  const js = ts.transpileModule(content, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, name.replace(/\.ts$/, ".mjs"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, js);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

describe("generated identifiers and users' message names", () => {
  it("compiles when messages are named Object, String or Fields (a storage API's `Object`)", () => {
    const dir = module({
      "storage/v1/storage.proto": `${HEADER}package storage.v1;
// As in google.storage.v2: the resource is called Object.
message Object { string name = 1; int64 generation = 2; }
message String { int64 n = 1; }
message Fields { string id = 1; }
service Storage {
  rpc GetObject(Object) returns (Object) {
    option (grpcaudit.v1.audit) = { event_type: EVENT_TYPE_RESOURCE_ACCESS target_type: "object" target_id_field: "req.generation" };
  }
  rpc Count(String) returns (String) {
    option (grpcaudit.v1.audit) = { event_type: EVENT_TYPE_RESOURCE_ACCESS target_type: "n" target_id_field: "req.n" };
  }
  rpc SetFields(Fields) returns (Fields) {
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "doc" object_id_field: "req.id" };
  }
}
`,
    });
    // ts-proto's own output compiles with these names (it reads globals through globalThis); only
    // storage_audit.ts must not break.
    expect(generateAndCompile(dir, ["storage/v1/storage.proto"])).toEqual([]);
  }, 120_000);

  it("gives two message types whose names differ only in '.' versus '_' two different shape constants", () => {
    const dir = module({
      "x/a.proto": 'syntax = "proto3";\npackage foo_bar.v1;\nmessage X { string a = 1; }\n',
      "y/b.proto": 'syntax = "proto3";\npackage foo.bar_v1;\nmessage X { string b = 1; }\n',
      "main.proto": `${HEADER}import "x/a.proto";
import "y/b.proto";
package m;
message Req { foo_bar.v1.X first = 1; foo.bar_v1.X second = 2; }
service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`,
    });
    const errors = generateAndCompile(dir, ["main.proto", "x/a.proto", "y/b.proto"]);
    expect(errors).toEqual([]);
    // Each field's shape is its own type's, not the other one's.
    const out = readFileSync(join(dir, "gen/main_audit.ts"), "utf8");
    const consts = [...out.matchAll(/^const (\w+(?:\$\d+)?): AuditMessageShape/gm)].map((m) => m[1]);
    expect(new Set(consts).size).toBe(consts.length);
  }, 120_000);
});

describe("id readers and Object.prototype", () => {
  it('reads "" for an absent integer field named __proto__, not Object.prototype as "[object Object]"', async () => {
    const dir = module({
      "odd.proto": `${HEADER}package odd;
message Req { int64 __proto__ = 1; }
service S {
  rpc M(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_DELETE target_type: "t" target_id_field: "req.__proto__" };
  }
}
`,
    });
    const out = generateIn(dir, "odd.proto");
    const { auditRules } = (await load(dir, "odd_audit.ts", out.get("odd_audit.ts") ?? "")) as {
      auditRules: Record<string, { targetId(request: unknown, response: unknown): string }>;
    };
    const rule = auditRules["/odd.S/M"];
    // proto-loader without `defaults: true` leaves a zero field out of the object.
    expect(rule?.targetId({}, undefined)).toBe("");
    // ts-proto's property for `__proto__` is `Proto`.
    expect(rule?.targetId({ Proto: 42 }, undefined)).toBe("42");
  });
});
