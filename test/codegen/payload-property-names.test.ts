// Payload capture reads each field from the properties loaders keep it under (the shape's `properties`):
// ts-proto's own camelCase of the .proto name (it ignores json_name), the .proto name (proto-loader
// keepCase) or protobuf.js camelCase — never from the JSON name, which a `json_name` option may set to
// ANOTHER field's property (a sensitive one, here): read from there, that field's value would be
// captured under this one. The JSON name is only the key a field is written under.
//
// Real buf, the plugin in process, real ts-proto and @grpc/proto-loader decoding real bytes.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocGenGrpcAudit } from "../../packages/protoc-gen-grpc-audit/src/plugin.js";
import { redactToJson } from "../../src/payload/index.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { REPO } from "./helpers.js";

const PROTO = `syntax = "proto3";
import "grpcaudit/v1/annotations.proto";
package leak.v1;

message Req {
  string secret_key = 1 [(grpcaudit.v1.field) = { sensitive: true }];
  // A JSON name that is the .proto name of the sensitive field (protoc and buf accept it: the JSON
  // names "secretKey" and "secret_key" differ).
  string note = 2 [json_name = "secret_key"];
  string display_name = 3 [json_name = "label"];
  string OWNER_ID = 4;
}

service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`;

const VALUES = { secretKey: "hunter2", note: "a note", displayName: "Alice", OWNERID: "o-1" };

let dir: string;
let set: FileDescriptorSet;
let bytes: Uint8Array;
let requestShape: MessageShape;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grpc-audit-props-"));
  // The buf module in its own folder: buf would read every .proto under node_modules too.
  cpSync(join(REPO, "proto/grpcaudit"), join(dir, "proto/grpcaudit"), { recursive: true });
  mkdirSync(join(dir, "proto/leak/v1"), { recursive: true });
  writeFileSync(join(dir, "proto/leak/v1/leak.proto"), PROTO);
  writeFileSync(join(dir, "proto/buf.yaml"), "version: v2\n");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  const buf = join(REPO, "node_modules/.bin/buf");
  set = fromBinary(
    FileDescriptorSetSchema,
    execFileSync(buf, ["build", join(dir, "proto"), "-o", "-#format=binpb"]),
  );

  // The plugin's shapes, in process.
  const response = protocGenGrpcAudit.run(
    create(CodeGeneratorRequestSchema, {
      fileToGenerate: ["leak/v1/leak.proto"],
      parameter: "target=ts,import_extension=js",
      protoFile: set.file,
      sourceFileDescriptors: set.file.filter((f) => f.name === "leak/v1/leak.proto"),
    }),
  );
  const table = response.file.find((f) => f.name === "leak/v1/leak_audit.ts")?.content ?? "";
  const { auditRules } = (await importTs("leak/v1/leak_audit.ts", table)) as {
    auditRules: Record<string, { requestShape: MessageShape }>;
  };
  const rule = auditRules["/leak.v1.S/Put"];
  if (rule === undefined) throw new Error("no rule generated");
  requestShape = rule.requestShape;

  // The wire bytes of a request, encoded by @bufbuild/protobuf from the same descriptors.
  const schema = createFileRegistry(set).getMessage("leak.v1.Req");
  if (schema === undefined) throw new Error("no leak.v1.Req");
  bytes = toBinary(schema, create(schema, VALUES));
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Transpiles a TypeScript module into `dir` and imports it. */
async function importTs(name: string, content: string): Promise<Record<string, unknown>> {
  const js = ts.transpileModule(content, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, name.replace(/\.ts$/, ".js"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, js);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

describe("payload capture of fields whose JSON name is not their property name", () => {
  it("never captures a sensitive field's value under another field (proto-loader, keepCase: true)", () => {
    const definition = loadFileDescriptorSetFromBuffer(Buffer.from(toBinary(FileDescriptorSetSchema, set)), {
      keepCase: true,
    });
    const method = (definition["leak.v1.S"] as Record<string, { requestDeserialize(b: Buffer): unknown }>)
      .Put;
    const request = method?.requestDeserialize(Buffer.from(bytes));
    expect(request).toMatchObject({ secret_key: "hunter2", note: "a note" });

    const json = JSON.stringify(redactToJson(requestShape, request));
    expect(json).not.toContain("hunter2");
    // proto3 JSON of the request without its sensitive field.
    expect(JSON.parse(json)).toEqual({ secret_key: "a note", label: "Alice", OWNERID: "o-1" });
  });

  it("captures every field of a ts-proto message, json_name or ALL_CAPS name", async () => {
    // ts-proto's messages for leak.proto, as buf.gen.example.yaml makes them.
    const template = {
      version: "v2",
      plugins: [
        {
          local: ["node", join(REPO, "node_modules/ts-proto/protoc-gen-ts_proto")],
          out: "tsproto",
          strategy: "all",
          opt: ["esModuleInterop=true", "importSuffix=.js", "env=node", "emitImportedFiles=false"],
        },
      ],
    };
    writeFileSync(join(dir, "buf.gen.yaml"), JSON.stringify(template));
    execFileSync(
      join(REPO, "node_modules/.bin/buf"),
      [
        "generate",
        join(dir, "proto"),
        "--template",
        join(dir, "buf.gen.yaml"),
        "-o",
        dir,
        "--path",
        join(dir, "proto/leak/v1/leak.proto"),
      ],
      { stdio: "pipe" },
    );
    const source = readFileSync(join(dir, "tsproto/leak/v1/leak.ts"), "utf8");
    const { Req } = (await importTs("tsproto/leak/v1/leak.ts", source)) as {
      Req: { decode(input: Uint8Array): Record<string, unknown> };
    };
    const request = Req.decode(bytes);
    expect(request).toEqual({ secretKey: "hunter2", note: "a note", displayName: "Alice", ownerId: "o-1" });

    expect(redactToJson(requestShape, request)).toEqual({
      secret_key: "a note",
      label: "Alice",
      OWNERID: "o-1",
    });
  }, 60_000);
});
