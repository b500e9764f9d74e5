/**
 * Fields whose property names collide with a sensitive field's. ts-proto names a field `API_KEY`
 * `apiKey` (it lowercases all-caps names), so the plugin lists `apiKey` first among the properties
 * `API_KEY` is read from. buf accepts a proto3 message with both `API_KEY` and a sensitive `apiKey`
 * (their JSON names "APIKEY" and "apiKey" differ), and @grpc/proto-loader keeps them apart, with
 * `keepCase` or without (protobuf.js leaves all-caps names as they are): reading `API_KEY` from
 * `apiKey` first put the sensitive field's value in the event, under API_KEY's name.
 *
 * Real buf, the plugin in process, a proto-loader server over loopback gRPC.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { Client, credentials, Server, type ServiceDefinition, type UntypedHandleCall } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, type Options } from "@grpc/proto-loader";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocGenGrpcAudit } from "../../packages/protoc-gen-grpc-audit/src/plugin.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { encodeCanonical, type PayloadProblems, redactToJson } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { REPO } from "./messages.js";

const PROTO = `syntax = "proto3";
import "grpcaudit/v1/annotations.proto";
package collide.v1;

message Req {
  string API_KEY = 1;
  string apiKey = 2 [(grpcaudit.v1.field) = { sensitive: true }];
  string A_1 = 3;
  string a1 = 4 [debug_redact = true];
  oneof choice {
    string TOKEN_ID = 5;
    string tokenId = 6 [(grpcaudit.v1.field) = { sensitive: true }];
  }
  // Two plain fields: OWNER_ID read from ownerId would record ownerId's value as its own.
  string OWNER_ID = 7;
  string ownerId = 8;
  // A plain field under the name ts-proto gives the sensitive SECRET_NAME: never read, reported when set.
  string secretName = 9;
  string SECRET_NAME = 10 [(grpcaudit.v1.field) = { sensitive: true }];
}

// A sensitive field's JSON name is another field's lowerCamelCase: ts-proto's useJsonName keeps
// token under noteText, where note_text is kept by default.
message JsonNamed {
  string token = 1 [(grpcaudit.v1.field) = { sensitive: true }, json_name = "noteText"];
  string note_text = 2 [json_name = "other"];
}

service S {
  rpc Put(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
  rpc Named(JsonNamed) returns (JsonNamed) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`;

const SECRET = "sk-live-61c0ffee";

let dir: string;
let set: FileDescriptorSet;
let rules: RuleTable;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "grpc-audit-collide-"));
  cpSync(join(REPO, "proto/grpcaudit"), join(dir, "proto/grpcaudit"), { recursive: true });
  mkdirSync(join(dir, "proto/collide/v1"), { recursive: true });
  writeFileSync(join(dir, "proto/collide/v1/collide.proto"), PROTO);
  writeFileSync(join(dir, "proto/buf.yaml"), "version: v2\n");
  const buf = join(REPO, "node_modules/.bin/buf");
  set = fromBinary(
    FileDescriptorSetSchema,
    execFileSync(buf, ["build", join(dir, "proto"), "-o", "-#format=binpb"]),
  );
  const response = protocGenGrpcAudit.run(
    create(CodeGeneratorRequestSchema, {
      fileToGenerate: ["collide/v1/collide.proto"],
      parameter: "target=ts,import_extension=js",
      protoFile: set.file,
      sourceFileDescriptors: set.file.filter((f) => f.name === "collide/v1/collide.proto"),
    }),
  );
  const table = response.file.find((f) => f.name === "collide/v1/collide_audit.ts")?.content ?? "";
  const js = ts.transpileModule(table, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(dir, "collide_audit.mjs");
  writeFileSync(file, js);
  ({ auditRules: rules } = (await import(pathToFileURL(file).href)) as { auditRules: RuleTable });
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The wire bytes of a Req, encoded by @bufbuild/protobuf from the same descriptors (whose own names
 * for `API_KEY`, `A_1` and `TOKEN_ID` are `APIKEY`, `A1` and `TOKENID`).
 */
function requestBytes(
  choice: { case: "TOKENID" | "tokenId"; value: string },
  more: Record<string, string> = {},
): Buffer {
  const schema = createFileRegistry(set).getMessage("collide.v1.Req");
  if (schema === undefined) throw new Error("no collide.v1.Req");
  const init = {
    APIKEY: "key-1",
    apiKey: SECRET,
    A1: "a-1",
    a1: SECRET,
    choice,
    SECRETNAME: SECRET,
    ...more,
  };
  const message = create(schema, init);
  return Buffer.from(toBinary(schema, message));
}

/** Serves collide.v1.S, decoded by proto-loader with `options`, makes one call, returns its event. */
async function callPut(options: Options, request: Buffer): Promise<{ json: string; errors: string[] }> {
  const definition = loadFileDescriptorSetFromBuffer(
    Buffer.from(toBinary(FileDescriptorSetSchema, set)),
    options,
  )["collide.v1.S"] as ServiceDefinition;
  const memory = createMemoryEmitter();
  const errors: string[] = [];
  const recorder = createRecorder({
    service: "collide",
    emitters: [memory],
    onError: (error) => errors.push(error.message),
  });
  const server = new Server({ interceptors: createAuditInterceptors({ recorder, rules }) });
  const echo = (call: { request: unknown }, callback: (error: null, response: unknown) => void) =>
    callback(null, call.request);
  server.addService(definition, { Put: echo as unknown as UntypedHandleCall });
  const port = await listenOnLoopback(server);
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const identity = (bytes: Buffer) => bytes;
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest("/collide.v1.S/Put", identity, identity, request, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const [event] = await memory.waitForCount(1);
    return { json: JSON.stringify(event === undefined ? null : eventToJson(event)), errors };
  } finally {
    client.close();
    await stopServer(server);
  }
}

const LOADERS: Record<string, Options> = {
  "keepCase, oneofs": { keepCase: true, oneofs: true },
  "camelCase (proto-loader's default)": {},
  "camelCase, defaults": { defaults: true },
};

describe("a field whose ts-proto name is a sensitive field's name (API_KEY beside a sensitive apiKey)", () => {
  it.each(Object.entries(LOADERS))(
    "%s: captures its own value, never the sensitive one",
    async (_, options) => {
      const { json, errors } = await callPut(options, requestBytes({ case: "tokenId", value: SECRET }));
      expect(json).not.toContain(SECRET);
      const payload = JSON.parse(json).payload as { requestJson: string; responseJson: string };
      // proto3 JSON of the request without apiKey, a1 and the oneof whose set member is sensitive.
      expect(JSON.parse(payload.requestJson)).toStrictEqual({ APIKEY: "key-1", A1: "a-1" });
      expect(JSON.parse(payload.responseJson)).toStrictEqual({ APIKEY: "key-1", A1: "a-1" });
      expect(errors).toStrictEqual([]);
    },
  );

  it.each(Object.entries(LOADERS))(
    "%s: still captures the oneof's plain member when it is set",
    async (_, options) => {
      const { json, errors } = await callPut(options, requestBytes({ case: "TOKENID", value: "t-9" }));
      expect(json).not.toContain(SECRET);
      const payload = JSON.parse(json).payload as { requestJson: string };
      expect(JSON.parse(payload.requestJson)).toStrictEqual({ APIKEY: "key-1", A1: "a-1", TOKENID: "t-9" });
      expect(errors).toStrictEqual([]);
    },
  );
});

describe("fields whose property names collide with other fields'", () => {
  it.each(Object.entries(LOADERS))(
    "%s: a plain field is never read from another plain field's .proto name",
    async (_, options) => {
      const request = requestBytes({ case: "TOKENID", value: "t-9" }, { OWNERID: "o-1", ownerId: "o-2" });
      const { json, errors } = await callPut(options, request);
      const payload = JSON.parse(json).payload as { requestJson: string };
      expect(JSON.parse(payload.requestJson)).toStrictEqual({
        APIKEY: "key-1",
        A1: "a-1",
        TOKENID: "t-9",
        OWNERID: "o-1",
        ownerId: "o-2",
      });
      expect(errors).toStrictEqual([]);
    },
  );

  it.each(Object.entries(LOADERS))(
    "%s: a plain field all of whose names a sensitive field may use is left out and reported",
    async (_, options) => {
      const request = requestBytes({ case: "TOKENID", value: "t-9" }, { secretName: "plain" });
      const { json, errors } = await callPut(options, request);
      expect(json).not.toContain(SECRET);
      const payload = JSON.parse(json).payload as { requestJson: string };
      expect(JSON.parse(payload.requestJson)).toStrictEqual({ APIKEY: "key-1", A1: "a-1", TOKENID: "t-9" });
      const method = "/collide.v1.S/Put";
      const problem = "secretName: left out: its property names are another field's";
      // Once per call: the request, and the response (the same message echoed).
      expect(errors).toStrictEqual([`payload: ${method}: 2 value(s) left out: ${problem}; ${problem}`]);
    },
  );
});

describe("a sensitive field whose JSON name is another field's property (json_name)", () => {
  it("is not captured under the other field from ts-proto's useJsonName object", () => {
    const shape = rules["/collide.v1.S/Named"]?.requestShape;
    if (shape === undefined) throw new Error("no requestShape for Named");
    // ts-proto with useJsonName=true keeps each field under its JSON name.
    const message = { noteText: SECRET, other: "a note" };
    const problems: PayloadProblems = { count: 0, first: [] };
    expect(redactToJson(shape, message, problems)).toStrictEqual({});
    expect(Buffer.from(encodeCanonical(shape, message)).includes(SECRET)).toBe(false);
    // Whose value `noteText` holds cannot be told: note_text is read only from its .proto name.
    expect(redactToJson(shape, { token: SECRET, noteText: "a note" })).toStrictEqual({});
    expect(redactToJson(shape, { token: SECRET, note_text: "a note" })).toStrictEqual({ other: "a note" });
    expect(problems).toStrictEqual({ count: 0, first: [] });
  });
});
