// proto2 payload digests: the same request bytes give the same digest whichever loader the server uses
// (ts-proto fills declared defaults in, proto-loader keeps only what the wire held, or fills them in
// with `defaults: true`), and ts-proto's `encode` of the message with its sensitive fields cleared
// reproduces it (the verification recipe): declared defaults, groups, packed and unpacked lists.
import { createHmac } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
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
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { compilePlugin, generateAndCompile, loadGenerated, tempModule } from "./helpers.js";

const PROTO = "legacy2/v1/p2.proto";
const EDITIONS = "ed2/v1/ed.proto";
const PROTO3 = "p3/v1/p3.proto";
const FILES = {
  [PROTO]: `syntax = "proto2";
package legacy2.v1;
import "grpcaudit/v1/annotations.proto";
enum Mode { MODE_UNSPECIFIED = 0; MODE_ON = 1; MODE_OFF = 2; }
enum Level { LEVEL_LOW = 1; LEVEL_HIGH = 2; }
message Req {
  optional int32 x = 1 [default = 5];
  optional string s = 2 [default = "dflt"];
  required string r = 3;
  optional group G = 4 { optional string inner = 5; optional string pin = 6 [debug_redact = true]; }
  repeated int32 unpacked = 7;
  repeated int32 packed = 8 [packed = true];
  optional bool on = 9 [default = true];
  optional int64 big = 10 [default = 12345678901];
  optional Mode mode = 11;
  optional Level level = 12;
  optional string plain = 13;
  optional double ratio = 14 [default = 1.5];
  repeated Mode modes = 15;
  repeated group Item = 16 { optional int32 n = 17 [default = 2]; }
  optional Inner nested = 18;
  optional sint64 zig = 19 [default = -3];
  optional uint32 zero = 20 [default = 0];
  optional float tenth = 21 [default = 0.1];
}
message Inner { optional uint32 u = 1 [default = 7]; }
// An enum's declared default: ts-proto with string enums compares such a field with the enum's first
// value instead, so its encode is no recipe here; the digest still ignores the loader.
message Flags { optional Mode mode = 1 [default = MODE_OFF]; }
service P2 {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
  rpc B(Flags) returns (Flags) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
  rpc C(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`,
  // proto3 with an unpacked list, which ts-proto writes one record per element.
  [PROTO3]: `syntax = "proto3";
package p3.v1;
import "grpcaudit/v1/annotations.proto";
message Req { repeated int32 loose = 1 [packed = false]; repeated int32 tight = 2; }
service T {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`,
  // Editions 2023: ts-proto writes a scalar with explicit presence (the default here) only when it is
  // not 0, as it does in proto3, and packs lists.
  [EDITIONS]: `edition = "2023";
package ed2.v1;
import "grpcaudit/v1/annotations.proto";
message Req {
  string id = 1;
  int64 n = 2;
  int32 imp = 3 [features.field_presence = IMPLICIT];
  repeated int32 nums = 4;
  Inner inner = 5;
  message Inner { int32 v = 1; }
}
service E {
  rpc A(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "t" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`,
};

const KEY = { id: "k1", secret: Buffer.alloc(32, 9) };

/** Wire bytes of a Req, written by hand so that defaults, packing and groups are as each case says. */
function wire(build: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  build(w);
  return w.finish();
}

/** Requests to legacy2.v1.P2/A. */
const CASES: Record<string, Uint8Array> = {
  "only the required field": wire((w) => w.tag(3, WireType.LengthDelimited).string("id")),
  "every declared default written out": wire((w) => {
    w.tag(1, WireType.Varint).int32(5);
    w.tag(2, WireType.LengthDelimited).string("dflt");
    w.tag(3, WireType.LengthDelimited).string("");
    w.tag(9, WireType.Varint).bool(true);
    w.tag(10, WireType.Varint).int64(12345678901n);
    w.tag(11, WireType.Varint).int32(0);
    w.tag(12, WireType.Varint).int32(1);
    w.tag(13, WireType.LengthDelimited).string("");
    w.tag(14, WireType.Bit64).double(1.5);
    w.tag(16, WireType.StartGroup).tag(17, WireType.Varint).int32(2).tag(16, WireType.EndGroup);
    w.tag(18, WireType.LengthDelimited).fork().tag(1, WireType.Varint).uint32(7).join();
    w.tag(19, WireType.Varint).sint64(-3n);
    w.tag(20, WireType.Varint).uint32(0);
  }),
  "zero values beside declared defaults, a group, lists packed and unpacked either way": wire((w) => {
    w.tag(1, WireType.Varint).int32(0);
    w.tag(2, WireType.LengthDelimited).string("");
    w.tag(3, WireType.LengthDelimited).string("id");
    w.tag(4, WireType.StartGroup);
    w.tag(5, WireType.LengthDelimited).string("in");
    w.tag(6, WireType.LengthDelimited).string("secret pin");
    w.tag(4, WireType.EndGroup);
    // `unpacked` sent packed and `packed` sent unpacked: decoders take both.
    w.tag(7, WireType.LengthDelimited).fork().int32(1).int32(-2).join();
    w.tag(8, WireType.Varint).int32(3).tag(8, WireType.Varint).int32(4);
    w.tag(9, WireType.Varint).bool(false);
    w.tag(10, WireType.Varint).int64(0n);
    w.tag(11, WireType.Varint).int32(2);
    w.tag(12, WireType.Varint).int32(2);
    w.tag(14, WireType.Bit64).double(0);
    w.tag(15, WireType.Varint).int32(1).tag(15, WireType.Varint).int32(0);
    w.tag(16, WireType.StartGroup).tag(17, WireType.Varint).int32(9).tag(16, WireType.EndGroup);
    w.tag(16, WireType.StartGroup).tag(16, WireType.EndGroup);
    w.tag(18, WireType.LengthDelimited).fork().tag(1, WireType.Varint).uint32(0).join();
    w.tag(19, WireType.Varint).sint64(0n);
    w.tag(20, WireType.Varint).uint32(8);
  }),
};

/** Requests to ed2.v1.E/A. */
const EDITION_CASES: Record<string, Uint8Array> = {
  "n absent": wire((w) => w.tag(1, WireType.LengthDelimited).string("id")),
  "n = 0 written out": wire((w) => {
    w.tag(1, WireType.LengthDelimited).string("id");
    w.tag(2, WireType.Varint).int64(0n);
    w.tag(3, WireType.Varint).int32(0);
  }),
  "n = 5, a list sent unpacked, an empty message": wire((w) => {
    w.tag(2, WireType.Varint).int64(5n);
    w.tag(4, WireType.Varint).int32(1).tag(4, WireType.Varint).int32(2);
    w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(0).join();
  }),
};

/** proto-loader's options in the servers of the test: defaults off and on, both property styles. */
const PROTO_LOADERS: Record<string, Options> = {
  "proto-loader": { longs: String, enums: String },
  "proto-loader defaults keepCase": { keepCase: true, longs: String, enums: Number, defaults: true },
};

type TsProtoReq = {
  decode(bytes: Uint8Array): { g?: { pin?: string } };
  encode(message: unknown): { finish(): Uint8Array };
};

/** A running server and the events its recorder took. */
type Running = { memory: MemoryEmitter; port: number };

const dirs: string[] = [];
const servers: (Running & { close(): void })[] = [];
/** By loader: the servers of legacy2.v1.P2 and of ed2.v1.E. */
let servedBy: Record<string, Running>;
let editionsBy: Record<string, Running>;
let proto3By: Record<string, Running>;
let P3Req: TsProtoReq;
let Req: TsProtoReq;
let EdReq: TsProtoReq;
/** The generated rule tables' text, by proto file. */
let printed: Record<string, string>;

async function serve(definition: ServiceDefinition, table: RuleTable) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "p2", emitters: [memory] });
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: [table], payloadDigestKey: KEY }),
  });
  const echoes: handleUnaryCall<unknown, unknown> = (call, callback) => callback(null, call.request);
  const echo: UntypedServiceImplementation = { a: echoes, b: echoes, c: echoes };
  server.addService(definition, echo);
  const port = await listenOnLoopback(server);
  const running = { memory, port, close: () => server.forceShutdown() };
  servers.push(running);
  return running;
}

/**
 * Serves `service` of `proto` (generated into `dir/gen`) once with ts-proto's service definition and
 * once per PROTO_LOADERS entry; resolves to the servers by loader and ts-proto's request message.
 */
async function serveAll(dir: string, proto: string, service: string) {
  const load = (file: string) =>
    loadGenerated(dir, `js/${file}`, readFileSync(join(dir, "gen", file), "utf8"));
  const messages = await load(proto.replace(/\.proto$/, ".ts"));
  const table = (await load(proto.replace(/\.proto$/, "_audit.ts"))).auditRules as RuleTable;
  const name = service.split(".").at(-1) ?? "";
  const running: Record<string, Running> = {
    "ts-proto": await serve(messages[`${name}Service`] as ServiceDefinition, table),
  };
  for (const [loader, options] of Object.entries(PROTO_LOADERS)) {
    const definition = loadSync(join(dir, proto), { ...options, includeDirs: [dir] })[service];
    running[loader] = await serve(definition as ServiceDefinition, table);
  }
  return { running, Req: messages.Req as TsProtoReq };
}

beforeAll(async () => {
  const dir = tempModule(FILES);
  dirs.push(dir);
  expect(generateAndCompile(await compilePlugin(), dir, Object.keys(FILES))).toEqual([]);
  const table = (proto: string) =>
    readFileSync(join(dir, "gen", proto.replace(/\.proto$/, "_audit.ts")), "utf8");
  printed = { [PROTO]: table(PROTO), [EDITIONS]: table(EDITIONS) };
  ({ running: servedBy, Req } = await serveAll(dir, PROTO, "legacy2.v1.P2"));
  ({ running: editionsBy, Req: EdReq } = await serveAll(dir, EDITIONS, "ed2.v1.E"));
  ({ running: proto3By, Req: P3Req } = await serveAll(dir, PROTO3, "p3.v1.T"));
}, 120_000);

afterAll(() => {
  for (const server of servers) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Sends `bytes` as the request of `method` to `target`; resolves to the payload of the event. */
async function payloadAt(target: Running, bytes: Uint8Array, method: string) {
  const before = target.memory.events.length;
  const client = new Client(`127.0.0.1:${target.port}`, credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        method,
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

/** Sends `bytes` as the request of `method` to `target`; resolves to the request digest of the event. */
async function digestAt(target: Running, bytes: Uint8Array, method = "/legacy2.v1.P2/A") {
  return (await payloadAt(target, bytes, method))?.requestDigest;
}

/** The verification recipe with ts-proto: decode, clear the sensitive pin, encode, frame, HMAC. */
function recipe(bytes: Uint8Array, type = Req): string {
  const message = type.decode(bytes);
  if (message.g !== undefined) message.g.pin = "";
  const framed = new BinaryWriter().bytes(type.encode(message).finish()).finish();
  return createHmac("sha256", KEY.secret).update(framed).digest("hex");
}

describe("proto2 shapes", () => {
  it("say which fields have a declared default, are unpacked or are groups; editions shapes need none", () => {
    const fields = (proto: string) =>
      (printed[proto] ?? "").split("\n").filter((line) => line.startsWith("    Object.freeze({ no: "));
    const described = (proto: string) =>
      fields(proto).flatMap((line) => {
        const [, name] = /name: "(\w+)"/.exec(line) ?? [];
        const [, optional] = /optional: (\w+)/.exec(line) ?? [];
        const extra = /oneof: undefined, (.*) }\),$/.exec(line)?.[1];
        return [`${name} optional: ${optional}${extra === undefined ? "" : `, ${extra}`}`];
      });
    expect(described(PROTO)).toEqual([
      "x optional: true, default: 5",
      's optional: true, default: "dflt"',
      "r optional: false",
      "g optional: true, delimited: true",
      "unpacked optional: false, packed: false",
      "packed optional: false",
      "on optional: true, default: true",
      'big optional: true, default: "12345678901"',
      "mode optional: false",
      "level optional: true, default: 1",
      "plain optional: false",
      "ratio optional: true, default: 1.5",
      "modes optional: false, packed: false",
      "item optional: false, delimited: true",
      "nested optional: true",
      'zig optional: true, default: "-3"',
      "zero optional: false",
      "tenth optional: true, default: 0.10000000149011612",
      "inner optional: false",
      "pin optional: false",
      "n optional: true, default: 2",
      "u optional: true, default: 7",
      "mode optional: true, default: 2",
    ]);
    expect(printed[PROTO]).toContain("      readonly default?: number | string | boolean;\n");
    expect(described(EDITIONS)).toEqual([
      "id optional: false",
      "n optional: false",
      "imp optional: false",
      "nums optional: false",
      "inner optional: true",
      "v optional: false",
    ]);
    expect(printed[EDITIONS]).not.toContain("readonly default?");
  });
});

describe("proto2 payload digests", () => {
  it.each(Object.keys(CASES))(
    "are the same under ts-proto and proto-loader, and the recipe's: %s",
    async (name) => {
      const bytes = CASES[name] ?? new Uint8Array();
      const digests: Record<string, string | undefined> = {};
      for (const [loader, server] of Object.entries(servedBy))
        digests[loader] = await digestAt(server, bytes);
      const expected = recipe(bytes);
      expect(digests).toEqual(Object.fromEntries(Object.keys(servedBy).map((loader) => [loader, expected])));
    },
  );

  it("differ for different content, and not for the sensitive field", async () => {
    const server = servedBy["proto-loader"];
    if (server === undefined) throw new Error("no server");
    const withPin = (pin: string, x: number) =>
      wire((w) => {
        w.tag(1, WireType.Varint).int32(x);
        w.tag(3, WireType.LengthDelimited).string("id");
        w.tag(4, WireType.StartGroup).tag(6, WireType.LengthDelimited).string(pin).tag(4, WireType.EndGroup);
      });
    const a = await digestAt(server, withPin("1111", 6));
    expect(await digestAt(server, withPin("2222", 6))).toBe(a);
    expect(await digestAt(server, withPin("1111", 7))).not.toBe(a);
  });

  it("leave an enum at its declared default out under every loader, and write its 0", async () => {
    const mode = (value: number | undefined) =>
      wire((w) => (value === undefined ? w : w.tag(1, WireType.Varint).int32(value)));
    const digests = async (bytes: Uint8Array) => {
      const found = new Set<string | undefined>();
      for (const server of Object.values(servedBy))
        found.add(await digestAt(server, bytes, "/legacy2.v1.P2/B"));
      expect(found.size).toBe(1);
      return [...found][0];
    };
    const absent = await digests(mode(undefined));
    expect(await digests(mode(2))).toBe(absent);
    const zero = await digests(mode(0));
    const on = await digests(mode(1));
    expect(new Set([absent, zero, on]).size).toBe(3);
  });
});

/** The redacted JSON of CASES under every loader: declared defaults left out, as the digest does. */
const CASE_JSON: Record<string, string> = {
  "only the required field": '{"r":"id"}',
  "every declared default written out": '{"item":[{}],"nested":{}}',
  "zero values beside declared defaults, a group, lists packed and unpacked either way":
    '{"x":0,"s":"","r":"id","g":{"inner":"in"},"unpacked":[1,-2],"packed":[3,4],"on":false,"big":"0",' +
    '"mode":"MODE_OFF","level":"LEVEL_HIGH","ratio":0,"modes":["MODE_ON","MODE_UNSPECIFIED"],' +
    '"item":[{"n":9},{}],"nested":{"u":0},"zig":"0","zero":8}',
};

describe("proto2 redacted JSON", () => {
  it.each(Object.keys(CASES))(
    "is the same under ts-proto and proto-loader, declared defaults left out: %s",
    async (name) => {
      const bytes = CASES[name] ?? new Uint8Array();
      const json: Record<string, string | undefined> = {};
      for (const [loader, server] of Object.entries(servedBy))
        json[loader] = (await payloadAt(server, bytes, "/legacy2.v1.P2/C"))?.requestJson;
      expect(json).toEqual(
        Object.fromEntries(Object.keys(servedBy).map((loader) => [loader, CASE_JSON[name]])),
      );
    },
  );
});

describe("editions 2023 payload digests", () => {
  it.each(Object.keys(EDITION_CASES))(
    "are the same under ts-proto and proto-loader, and the recipe's: %s",
    async (name) => {
      const bytes = EDITION_CASES[name] ?? new Uint8Array();
      const digests: Record<string, string | undefined> = {};
      for (const [loader, server] of Object.entries(editionsBy))
        digests[loader] = await digestAt(server, bytes, "/ed2.v1.E/A");
      const expected = recipe(bytes, EdReq);
      expect(digests).toEqual(
        Object.fromEntries(Object.keys(editionsBy).map((loader) => [loader, expected])),
      );
    },
  );
});

describe("proto3 payload digests", () => {
  it("write a [packed = false] list one record per element, as ts-proto does", async () => {
    const bytes = wire((w) => {
      w.tag(1, WireType.LengthDelimited).fork().int32(1).int32(2).join();
      w.tag(2, WireType.Varint).int32(3).tag(2, WireType.Varint).int32(4);
    });
    const digests: Record<string, string | undefined> = {};
    for (const [loader, server] of Object.entries(proto3By))
      digests[loader] = await digestAt(server, bytes, "/p3.v1.T/A");
    const expected = recipe(bytes, P3Req);
    expect(digests).toEqual(Object.fromEntries(Object.keys(proto3By).map((loader) => [loader, expected])));
  });
});
