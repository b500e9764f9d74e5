// A proto2 group whose name has more than one capital (`OwnerInfo`) is a property of different names:
// protoc and ts-proto lowercase the whole name (`ownerinfo`), protobuf.js (what @grpc/proto-loader runs)
// lowercases only its first letter (`ownerInfo`), whatever `keepCase` says. The generated readers must
// find the group under both, over real gRPC: the authz object id, the audit target and the redacted payload.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  Client,
  credentials,
  type handleUnaryCall,
  Server,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createMemoryEmitter, type MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuthzRuleTable, RuleTable } from "../../src/rules/index.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { compilePlugin, generateAndCompile, loadGenerated, tempModule } from "./helpers.js";

const PROTO = "grp/v1/grp.proto";
const FILES = {
  [PROTO]: `syntax = "proto2";
package grp.v1;
import "grpcaudit/v1/annotations.proto";
message Req {
  optional group OwnerInfo = 1 { optional string owner_id = 2; optional string pin = 3 [debug_redact = true]; }
  optional string name = 4;
}
service Docs {
  rpc Authorize(Req) returns (Req) {
    option (grpcaudit.v1.authz) = { relation: "editor" object_type: "doc" object_id_field: "req.ownerinfo.owner_id" };
  }
  rpc Target(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "doc" target_id_field: "req.ownerinfo.owner_id" };
  }
  rpc Capture(Req) returns (Req) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "doc" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`,
};

const LOADERS: Record<string, Options | "ts-proto"> = {
  "ts-proto": "ts-proto",
  "proto-loader": {},
  "proto-loader keepCase": { keepCase: true },
};

const alice: Authenticator = {
  method: "test",
  authenticate: () => ({ kind: "authenticated", actor: { id: "alice" } }),
};

/** The request's bytes, written by hand so that no client-side loader names the group. */
const REQUEST = (() => {
  const w = new BinaryWriter();
  w.tag(1, WireType.StartGroup);
  w.tag(2, WireType.LengthDelimited).string("o-42");
  w.tag(3, WireType.LengthDelimited).string("secret pin");
  w.tag(1, WireType.EndGroup);
  w.tag(4, WireType.LengthDelimited).string("n");
  return w.finish();
})();

type Running = { memory: MemoryEmitter; port: number; server: Server };
const running: Record<string, Running> = {};
let dir = "";

beforeAll(async () => {
  dir = tempModule(FILES);
  expect(generateAndCompile(await compilePlugin(), dir, [PROTO])).toEqual([]);
  const load = (file: string) =>
    loadGenerated(dir, `js/${file}`, readFileSync(join(dir, "gen", file), "utf8"));
  const messages = await load("grp/v1/grp.ts");
  const tables = await load("grp/v1/grp_audit.ts");
  for (const [name, loader] of Object.entries(LOADERS)) {
    const definition =
      loader === "ts-proto"
        ? messages.DocsService
        : loadSync(join(dir, PROTO), { ...loader, includeDirs: [dir] })["grp.v1.Docs"];
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "docs", emitters: [memory] });
    const { authorizer } = createFakeAuthorizer(["user:alice|editor|doc:o-42"]);
    const server = new Server({
      interceptors: createAuditInterceptors({
        recorder,
        rules: [tables.auditRules as RuleTable],
        authn: { authenticators: [alice] },
        // Target and Capture have no authz rule.
        authz: { authorizer, rules: [tables.authzRules as AuthzRuleTable], missingRule: "allow" },
      }),
    });
    const echo: handleUnaryCall<unknown, unknown> = (call, callback) => callback(null, call.request);
    server.addService(definition as ServiceDefinition, { authorize: echo, target: echo, capture: echo });
    running[name] = { memory, port: await listenOnLoopback(server), server };
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(running).map(({ server }) => stopServer(server)));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Sends REQUEST to `method` of Docs on `target`; resolves to the call's error message (null when OK)
 * and its `count` events (authn, authz, and a mutation where the method has an audit rule).
 */
async function call(target: Running, method: string, count: number) {
  const before = target.memory.events.length;
  const client = new Client(`127.0.0.1:${target.port}`, credentials.createInsecure());
  let error: ServiceError | null = null;
  try {
    error = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        `/grp.v1.Docs/${method}`,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        REQUEST,
        resolve,
      ),
    );
  } finally {
    client.close();
  }
  const events = (await target.memory.waitForCount(before + count)).slice(before);
  return { error: error?.message ?? null, events };
}

describe("a proto2 group named OwnerInfo", () => {
  it.each(Object.keys(LOADERS))(
    "gives the authz object id, the audit target and the redacted payload on a %s server",
    async (name) => {
      const target = running[name];
      if (target === undefined) throw new Error(`no ${name} server`);
      const of = ({ events }: { events: readonly AuditEvent[] }, type: EventType) =>
        events.find((e) => e.eventType === type);
      const authorized = await call(target, "Authorize", 2);
      const authz = of(authorized, EventType.EVENT_TYPE_AUTHZ_DECISION);
      const mutation = of(await call(target, "Target", 3), EventType.EVENT_TYPE_RESOURCE_MUTATION);
      const capture = of(await call(target, "Capture", 3), EventType.EVENT_TYPE_RESOURCE_MUTATION);
      expect({
        authorizeError: authorized.error,
        objectId: authz?.detail?.$case === "authz" ? authz.detail.value.objectId : undefined,
        target: mutation?.target,
        requestJson: capture?.payload?.requestJson,
      }).toEqual({
        authorizeError: null,
        objectId: "o-42",
        target: { type: "doc", id: "o-42", name: "" },
        // The pin is sensitive; the group is under protoc's JSON name whichever loader decoded it.
        requestJson: '{"ownerinfo":{"ownerId":"o-42"},"name":"n"}',
      });
    },
  );
});
