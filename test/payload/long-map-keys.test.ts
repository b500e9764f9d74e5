// Maps with 64-bit integer keys over real gRPC (review R91): protobufjs, under @grpc/proto-loader, hands
// such keys over in its 8-character hash form (`util.longToHash`), which the capture took for invalid
// decimals: the maps were left out of the redacted JSON and the digest, verifyPayloadDigest answered
// "digest_mismatch" for an untouched request, and onError said "map key not a valid int64". Each
// server here decodes the same request bytes: ts-proto's, and proto-loader's with each `longs` option.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  Client,
  credentials,
  type handleUnaryCall,
  Server,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter, type MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditError } from "../../src/errors/index.js";
import type { Payload } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { verifyPayloadDigest } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { compilePlugin, generateAndCompile, loadGenerated, tempModule } from "../codegen/helpers.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";

const PROTO = "longkeys/v1/keys.proto";
const FILES = {
  [PROTO]: `syntax = "proto3";
package longkeys.v1;
import "grpcaudit/v1/annotations.proto";
message Entry { string label = 1; string pin = 2 [debug_redact = true]; }
message Req {
  map<int64, Entry> by_int64 = 1;
  map<uint64, string> by_uint64 = 2;
  map<sint64, string> by_sint64 = 3;
  map<fixed64, string> by_fixed64 = 4;
  map<sfixed64, string> by_sfixed64 = 5;
  map<int32, string> by_int32 = 6;
}
message Ack {}
service Keys {
  rpc Digest(Req) returns (Ack) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
  rpc Redact(Req) returns (Ack) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`,
};

const KEY = { id: "k1", secret: Buffer.alloc(32, 9) };

/**
 * The request as ts-proto (`forceLong=number`) holds it. Keys at 0, at both ends of the range a
 * JavaScript number holds exactly, negative ones (sign-extended in the hash form), one of 8 decimal
 * digits (a decimal key as long as a hash) and ones whose hash holds a quote, a backslash or a NUL.
 */
const REQUEST = {
  byInt64: {
    0: { label: "zero", pin: "pin-0" },
    133: { label: "small", pin: "pin-1" },
    "-5": { label: "negative", pin: "pin-2" },
    12345678: { label: "eight digits", pin: "pin-3" },
    [-(2 ** 53 - 1)]: { label: "lowest", pin: "pin-4" },
    23586: { label: "quote and backslash", pin: "pin-5" }, // 0x5c22: its hash starts '"\'
  },
  byUint64: { [2 ** 53 - 1]: "highest", 1: "one", [2 ** 40]: "high half" },
  bySint64: { "-1": "minus one", 64: "sixty-four" },
  byFixed64: { 7: "seven", [2 ** 32]: "above 32 bits" },
  bySfixed64: { "-2": "minus two", 256: "two fifty-six" },
  byInt32: { "-3": "int32" },
};

/** The redacted JSON every server records for REQUEST: keys as decimals in key order, no pin. */
const REQUEST_JSON = {
  byInt64: {
    "-9007199254740991": { label: "lowest" },
    "-5": { label: "negative" },
    "0": { label: "zero" },
    "133": { label: "small" },
    "23586": { label: "quote and backslash" },
    "12345678": { label: "eight digits" },
  },
  byUint64: { "1": "one", "1099511627776": "high half", "9007199254740991": "highest" },
  bySint64: { "-1": "minus one", "64": "sixty-four" },
  byFixed64: { "7": "seven", "4294967296": "above 32 bits" },
  bySfixed64: { "-2": "minus two", "256": "two fifty-six" },
  byInt32: { "-3": "int32" },
};

/** proto-loader's `longs` options: Long objects (the default), strings and numbers. */
const PROTO_LOADERS: Record<string, Options> = {
  "proto-loader (Long)": {},
  "proto-loader (longs: String)": { longs: String },
  "proto-loader (longs: Number, keepCase)": { longs: Number, keepCase: true },
};

type TsProtoReq = {
  fromPartial(object: unknown): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
};

/** A running server, the events its recorder took and the errors it reported. */
type Running = { memory: MemoryEmitter; errors: string[]; port: number; close(): void };

let dir = "";
const servers: Record<string, Running> = {};
let table: RuleTable;
let Req: TsProtoReq;
let bytes: Uint8Array;

async function serve(definition: ServiceDefinition): Promise<Running> {
  const memory = createMemoryEmitter();
  const errors: string[] = [];
  const onError = (error: AuditError) => errors.push(error.message);
  const recorder = createRecorder({ service: "keys", emitters: [memory], onError });
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: [table], payloadDigestKey: KEY }),
  });
  // The handlers answer an empty Ack: protobufjs cannot encode the hash-form keys it decoded.
  const ack: handleUnaryCall<unknown, unknown> = (_call, callback) => callback(null, {});
  const implementation: UntypedServiceImplementation = { digest: ack, redact: ack, Digest: ack, Redact: ack };
  server.addService(definition, implementation);
  const port = await listenOnLoopback(server);
  return { memory, errors, port, close: () => server.forceShutdown() };
}

beforeAll(async () => {
  dir = tempModule(FILES);
  expect(generateAndCompile(await compilePlugin(), dir, [PROTO])).toEqual([]);
  const load = (file: string) =>
    loadGenerated(dir, `js/${file}`, readFileSync(join(dir, "gen", file), "utf8"));
  const messages = await load(PROTO.replace(/\.proto$/, ".ts"));
  table = (await load(PROTO.replace(/\.proto$/, "_audit.ts"))).auditRules as RuleTable;
  Req = messages.Req as TsProtoReq;
  bytes = Req.encode(Req.fromPartial(REQUEST)).finish();
  servers["ts-proto"] = await serve(messages.KeysService as ServiceDefinition);
  for (const [loader, options] of Object.entries(PROTO_LOADERS)) {
    const definition = loadSync(join(dir, PROTO), { ...options, includeDirs: [dir] })["longkeys.v1.Keys"];
    servers[loader] = await serve(definition as ServiceDefinition);
  }
}, 120_000);

afterAll(() => {
  for (const server of Object.values(servers)) server.close();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** Sends the request bytes to `method` of `target`; resolves to the payload of its event. */
async function payloadAt(target: Running, method: string): Promise<Payload | undefined> {
  const before = target.memory.events.length;
  const client = new Client(`127.0.0.1:${target.port}`, credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        `/longkeys.v1.Keys/${method}`,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        bytes,
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  } finally {
    client.close();
  }
  const events = await target.memory.waitForCount(before + 1);
  return events[before]?.payload;
}

describe("maps with 64-bit integer keys", () => {
  const loaders = ["ts-proto", ...Object.keys(PROTO_LOADERS)];

  it.each(loaders)("are in the redacted JSON as ts-proto's server writes them (%s)", async (loader) => {
    const target = servers[loader] as Running;
    const payload = await payloadAt(target, "Redact");
    expect(JSON.parse(payload?.requestJson ?? "null")).toEqual(REQUEST_JSON);
    expect(target.errors).toEqual([]);
  });

  it.each(loaders)("give ts-proto's server's digest, which verifies (%s)", async (loader) => {
    const target = servers[loader] as Running;
    const tsProto = await payloadAt(servers["ts-proto"] as Running, "Digest");
    const payload = await payloadAt(target, "Digest");
    expect(payload?.requestDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(payload?.requestDigest).toBe(tsProto?.requestDigest);
    const shape = table["/longkeys.v1.Keys/Digest"]?.requestShape;
    if (payload === undefined || shape === undefined) throw new Error("no payload or no request shape");
    const secrets = { [KEY.id]: KEY.secret };
    expect(verifyPayloadDigest(payload, "request", shape, [Req.decode(bytes)], secrets)).toBe("ok");
    expect(target.errors).toEqual([]);
  });
});
