// Identifiers in the generated `<name>_audit.ts` must not clash with the names users give their
// messages and packages. The output must compile under `buf generate` with ts-proto (real buf, real
// ts-proto, real tsc), and a generated id reader must never read something other than the field named.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Metadata, type ServiceDefinition } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, type Options } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocGenGrpcAudit } from "../../packages/protoc-gen-grpc-audit/src/plugin.js";
import { redactToJson } from "../../src/payload/index.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { buildModule, compilePlugin, generateAndCompile, loadGenerated, tempModule } from "./helpers.js";

const HEADER = 'syntax = "proto3";\nimport "grpcaudit/v1/annotations.proto";\n';
const dirs: string[] = [];
let plugin: string;

beforeAll(async () => {
  plugin = await compilePlugin();
}, 60_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A buf module in a temporary folder holding `files` and grpcaudit/v1/annotations.proto. */
function module(files: Record<string, string>): string {
  const dir = tempModule(files);
  dirs.push(dir);
  return dir;
}

/** The plugin run in process on `file`; output file name → content. */
function generateIn(dir: string, file: string): Map<string, string> {
  const set = buildModule(dir);
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
    expect(generateAndCompile(plugin, dir, ["storage/v1/storage.proto"])).toEqual([]);
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
    const errors = generateAndCompile(plugin, dir, ["main.proto", "x/a.proto", "y/b.proto"]);
    expect(errors).toEqual([]);
    // Each field's shape is its own type's, not the other one's.
    const out = readFileSync(join(dir, "gen/main_audit.ts"), "utf8");
    const consts = [...out.matchAll(/^const (\w+(?:\$\d+)?): AuditMessageShape/gm)].map((m) => m[1]);
    expect(new Set(consts).size).toBe(consts.length);
  }, 120_000);

  it("compiles when messages are named Record, Readonly, ReadonlyArray or Buffer, types the file itself uses", () => {
    const dir = module({
      "zone/v1/zone.proto": `${HEADER}package zone.v1;
// As in a DNS API: the resource is called Record.
message Record { string name = 1; Kind kind = 2; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
message Readonly { string id = 1; }
message ReadonlyArray { string id = 1; }
message Buffer { string id = 1; }
service Zone {
  rpc PutRecord(Record) returns (Readonly) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "record" payload: PAYLOAD_CAPTURE_REDACTED };
  }
  rpc Lock(ReadonlyArray) returns (Buffer) {
    option (grpcaudit.v1.authz) = { relation: "owner" object_type: "zone" object_id_metadata: "x-zone" };
  }
}
`,
    });
    // ts-proto's own output does not compile with messages named ReadonlyArray or Buffer; zone_audit.ts must.
    const errors = generateAndCompile(plugin, dir, ["zone/v1/zone.proto"]);
    expect(errors.filter((line) => line.includes("_audit.ts"))).toEqual([]);
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
    const { auditRules } = (await loadGenerated(dir, "odd_audit.ts", out.get("odd_audit.ts") ?? "")) as {
      auditRules: Record<string, { targetId(request: unknown, response: unknown): string }>;
    };
    const rule = auditRules["/odd.S/M"];
    // proto-loader without `defaults: true` leaves a zero field out of the object.
    expect(rule?.targetId({}, undefined)).toBe("");
    // ts-proto's property for `__proto__` is `Proto`.
    expect(rule?.targetId({ Proto: 42 }, undefined)).toBe("42");
  });

  it("reads fields named to_string or value_of under each loader's name, not as Object.prototype's methods", async () => {
    const dir = module({
      "odd.proto": `${HEADER}package odd;
message Req { string to_string = 1; int64 value_of = 2; }
service S {
  rpc M(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" target_id_field: "req.to_string" };
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "t" object_id_field: "req.value_of" };
  }
}
`,
    });
    const { auditRules, authzRules } = (await loadGenerated(
      dir,
      "odd_audit.ts",
      generateIn(dir, "odd.proto").get("odd_audit.ts") ?? "",
    )) as {
      auditRules: Record<string, { targetId(request: unknown, response: unknown): string }>;
      authzRules: Record<string, { objectId(request: unknown, metadata: Metadata): string }>;
    };
    // Real wire bytes, decoded as a grpc-js server decodes them with proto-loader.
    const descriptors = Buffer.from(toBinary(FileDescriptorSetSchema, buildModule(dir)));
    const method = (options: Options) => {
      const service = loadFileDescriptorSetFromBuffer(descriptors, options)["odd.S"];
      if (service === undefined || "format" in service) throw new Error("no odd.S");
      const m = (service as ServiceDefinition).M;
      if (m === undefined) throw new Error("no odd.S/M");
      return m;
    };
    const bytes = method({ keepCase: true }).requestSerialize({ to_string: "t-1", value_of: 7 });
    const decode = (options: Options): unknown => method(options).requestDeserialize(bytes);
    // keepCase: `to_string` is an own property and `toString` only the inherited method.
    for (const request of [
      decode({ keepCase: true, longs: String }),
      decode({}),
      { toString: "t-1", valueOf: 7 },
    ]) {
      expect(auditRules["/odd.S/M"]?.targetId(request, undefined)).toBe("t-1");
      expect(authzRules["/odd.S/M"]?.objectId(request, new Metadata())).toBe("7");
    }
  });

  it("keeps an enum value named __proto__ as a value of the shape, not as its prototype", async () => {
    const dir = module({
      "odd.proto": `${HEADER}package odd;
enum Kind { KIND_UNSPECIFIED = 0; __proto__ = 1; }
message Req { Kind kind = 1; }
service S {
  rpc M(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`,
    });
    const { auditRules } = (await loadGenerated(
      dir,
      "odd_audit.ts",
      generateIn(dir, "odd.proto").get("odd_audit.ts") ?? "",
    )) as {
      auditRules: Record<string, { requestShape: MessageShape }>;
    };
    const shape = auditRules["/odd.S/M"]?.requestShape;
    if (shape === undefined) throw new Error("no request shape");
    const [kind] = shape.fields;
    expect(kind?.kind === "enum" && Object.entries(kind.values)).toEqual([
      ["KIND_UNSPECIFIED", 0],
      ["__proto__", 1],
    ]);
    expect(redactToJson(shape, { kind: 1 })).toEqual({ kind: "__proto__" });
  });
});
