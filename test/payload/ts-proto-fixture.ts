/**
 * ts-proto's TypeScript for test/fixtures/payload/payload.proto, generated into a temporary folder with
 * the library's own ts-proto options (buf.gen.yaml), for tests that compare with ts-proto's encoding
 * and serve the fixture service over gRPC. The folder links the repository's node_modules, so the
 * generated imports resolve; `remove()` deletes it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

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
];

export interface GeneratedFixture {
  /** The folder holding `payload/payload.ts` and the google/protobuf types it imports. */
  dir: string;
  /** The generated module of payload.proto, imported. */
  load(): Promise<Record<string, unknown>>;
  remove(): void;
}

/** Generates ts-proto's code for payload.proto (about a second: buf compiles the proto files). */
export function generateFixture(): GeneratedFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-payload-gen-"));
  fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"), "dir");
  const template = {
    version: "v2",
    plugins: [
      {
        local: ["node", path.join(REPO, "node_modules/ts-proto/protoc-gen-ts_proto")],
        out: dir,
        strategy: "all",
        opt: TS_PROTO_OPTIONS,
      },
    ],
  };
  const config = { version: "v2", modules: [{ path: "proto" }, { path: "test/fixtures" }] };
  execFileSync(
    path.join(REPO, "node_modules/.bin/buf"),
    [
      "generate",
      ".",
      "--template",
      JSON.stringify(template),
      "--config",
      JSON.stringify(config),
      "--path",
      "test/fixtures/payload/payload.proto",
    ],
    { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] },
  );
  return {
    dir,
    load: () => import(path.join(dir, "payload/payload.ts")),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
