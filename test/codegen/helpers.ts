// Shared by the protoc-gen-grpc-audit tests: builds the fixtures in test/fixtures with buf, makes
// CodeGeneratorRequests from the image and runs the plugin in process, the way buf and protoc run it.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  CodeGeneratorRequestSchema,
  type FileDescriptorProto,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import ts from "typescript";
import { afterAll } from "vitest";
import { protocGenGrpcAudit } from "../../packages/protoc-gen-grpc-audit/src/plugin.js";
import { buildOnce, isNewerThan } from "../helpers/build-once.js";
import { requireTool } from "../helpers/prerequisites.js";

/** Root of this repository. */
export const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** The fixture module; file names in requests are relative to it (and to proto/ for the annotations). */
export const FIXTURES = join(REPO, "test/fixtures");
/** The compiled plugin, as buf.gen.example.yaml and package.json's bin run it. */
export const PLUGIN_BIN = join(REPO, "packages/protoc-gen-grpc-audit/dist/bin/protoc-gen-grpc-audit.js");
/** Plugin parameters of buf.gen.example.yaml. */
export const PARAMETER = "target=ts,import_extension=js";
/** buf workspace config with both roots, so that fixtures can import grpcaudit/v1/annotations.proto. */
export const BUF_CONFIG = JSON.stringify({
  version: "v2",
  modules: [{ path: "proto" }, { path: "test/fixtures" }],
});

/**
 * Runs a tool from node_modules/.bin (or protoc from the PATH, else it throws `protoc not found: apt-get
 * install -y protobuf-compiler`) in the repository root; returns stdout.
 */
export function run(tool: string, args: readonly string[], input?: Uint8Array): Buffer {
  const bin = tool === "protoc" ? requireTool("protoc") : join(REPO, "node_modules/.bin", tool);
  try {
    return execFileSync(bin, args, {
      cwd: REPO,
      input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  } catch (error: unknown) {
    // tsc reports on stdout, buf and protoc on stderr.
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${tool} ${args.join(" ")} failed:\n${stderr ?? ""}${stdout ?? ""}`, { cause: error });
  }
}

/** Proto files under `dir` (relative to test/fixtures), sorted, as "merge/alpha.proto". */
export function fixtureFiles(dir = ""): string[] {
  return readdirSync(join(FIXTURES, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".proto"))
    .map((name) => join(dir, name))
    .sort();
}

/** Builds every fixture with `buf build` into one image: a FileDescriptorSet with imports and source info. */
export function buildFixtures(): FileDescriptorSet {
  const paths = fixtureFiles().flatMap((file) => ["--path", join("test/fixtures", file)]);
  const image = run("buf", ["build", ".", "--config", BUF_CONFIG, ...paths, "-o", "-#format=binpb"]);
  return fromBinary(FileDescriptorSetSchema, image);
}

/**
 * A request to generate `files`, holding them and every file they import in dependency order (buf
 * images are sorted that way), as buf and protoc send it.
 */
export function createRequest(
  set: FileDescriptorSet,
  files: readonly string[],
  parameter = PARAMETER,
): CodeGeneratorRequest {
  const byName = new Map(set.file.map((file) => [file.name, file]));
  const needed = new Set<string>();
  const visit = (name: string): void => {
    const file = byName.get(name);
    if (file === undefined) throw new Error(`${name} is not in the image`);
    if (needed.has(name)) return;
    needed.add(name);
    file.dependency.forEach(visit);
  };
  files.forEach(visit);
  const protoFile: FileDescriptorProto[] = set.file.filter((file) => needed.has(file.name));
  return create(CodeGeneratorRequestSchema, {
    fileToGenerate: [...files],
    parameter,
    protoFile,
    sourceFileDescriptors: protoFile.filter((file) => files.includes(file.name)),
  });
}

/** Runs the plugin in process on `files`; returns output file name → content. Throws what the plugin throws. */
export function generate(
  set: FileDescriptorSet,
  files: readonly string[],
  parameter = PARAMETER,
): Map<string, string> {
  const response = protocGenGrpcAudit.run(createRequest(set, files, parameter));
  if (response.error !== undefined && response.error !== "") throw new Error(response.error);
  return new Map(response.file.map((file) => [file.name, file.content]));
}

/** The message the plugin throws for `files`, as `<name>: <message>`, or "" when it does not throw. */
export function errorOf(set: FileDescriptorSet, files: readonly string[], parameter?: string): string {
  try {
    generate(set, files, parameter);
    return "";
  } catch (error: unknown) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

/**
 * A buf module in a new temporary folder holding `files` (path → text) and proto/grpcaudit, so that they
 * can import the annotations; returns the folder, which the caller removes.
 */
export function tempModule(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), "grpc-audit-review-"));
  cpSync(join(REPO, "proto/grpcaudit"), join(dir, "grpcaudit"), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
  return dir;
}

/** `buf build` of the module in `dir`: one image of all its files, imports first. */
export function buildModule(dir: string): FileDescriptorSet {
  return fromBinary(FileDescriptorSetSchema, run("buf", ["build", dir, "-o", "-#format=binpb"]));
}

/** Temporary modules of one test file, removed after its tests (see `useTempModules`). */
export interface TempModules {
  /** `tempModule(files)`, removed after the calling file's tests. */
  make(files: Readonly<Record<string, string>>): string;
  /** The plugin's error for a temporary module holding only `name` with `text` ("" when it generates). */
  errorFor(name: string, text: string): string;
}

/** Registers an afterAll that removes the modules made through the returned functions. */
export function useTempModules(): TempModules {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const make = (files: Readonly<Record<string, string>>) => {
    const dir = tempModule(files);
    dirs.push(dir);
    return dir;
  };
  return { make, errorFor: (name, text) => errorOf(buildModule(make({ [name]: text })), [name]) };
}

/** Every file under `root`, by path relative to it. */
export function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Compiles the plugin to packages/protoc-gen-grpc-audit/dist (as `npm run build:codegen` does) unless
 * its bin is newer than its sources, and returns the bin's path.
 */
export async function compilePlugin(): Promise<string> {
  const sources = ["src", "bin"].map((dir) => join(REPO, "packages/protoc-gen-grpc-audit", dir));
  await buildOnce(
    "plugin",
    () => isNewerThan(PLUGIN_BIN, sources),
    async () => {
      run("tsc", ["-p", "packages/protoc-gen-grpc-audit/tsconfig.build.json"]);
      chmodSync(PLUGIN_BIN, 0o755);
    },
  );
  return PLUGIN_BIN;
}

/** ts-proto's options in the buf templates of the tests (those of buf.gen.example.yaml). */
const TS_PROTO_OPTIONS = [
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
];

/**
 * `buf generate` of `files` of the module in `dir` into `dir/gen`, with ts-proto and the compiled plugin
 * `plugin` (the options of buf.gen.example.yaml), then tsc under the repository's strict tsconfig.
 * Returns tsc's error lines ([] when it compiles).
 */
export function generateAndCompile(plugin: string, dir: string, files: readonly string[]): string[] {
  const template = {
    version: "v2",
    plugins: [
      {
        local: ["node", join(REPO, "node_modules/ts-proto/protoc-gen-ts_proto")],
        out: "gen",
        strategy: "all",
        opt: TS_PROTO_OPTIONS,
      },
      { local: ["node", plugin], out: "gen", strategy: "all", opt: ["target=ts", "import_extension=js"] },
    ],
  };
  writeFileSync(join(dir, "buf.gen.yaml"), JSON.stringify(template));
  const paths = files.flatMap((f) => ["--path", join(dir, f)]);
  run("buf", ["generate", dir, "--template", join(dir, "buf.gen.yaml"), "-o", dir, ...paths]);
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
    execFileSync(join(REPO, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], {
      cwd: dir,
      stdio: "pipe",
    });
    return [];
  } catch (error: unknown) {
    const { stdout } = error as { stdout: Buffer };
    return String(stdout)
      .split("\n")
      .filter((line) => /error TS\d+/.test(line));
  }
}

/** Transpiles one generated TypeScript file (its imports are type-only) into `dir` and imports it. */
export async function loadGenerated(
  dir: string,
  name: string,
  content: string,
): Promise<Record<string, unknown>> {
  const js = ts.transpileModule(content, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, name.replace(/\.ts$/, ".mjs"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, js);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}
