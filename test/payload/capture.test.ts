import { type ChildProcess, fork } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Client, credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { createMemoryEmitter, type MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { eventToJson } from "../../src/event/serialize.js";
import { EventType, type Payload, PayloadCapture } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { payloadDigest, redactToJson } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { VaultServiceService as definition, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { call } from "./grpc-calls.js";
import { CANARY, clearSensitive, PUT_SECRET_REQUEST_JSON, putSecretRequest, REPO } from "./messages.js";
import {
  ImportSummaryShape,
  PutSecretRequestShape,
  ReadSecretRequestShape,
  SERVICE,
  SecretShape,
  VAULT_RULES,
} from "./shapes.js";
import { RESPONSE_CANARY, startVaultServer } from "./vault-service.js";

const KEY = { id: "vault-k1", secret: Buffer.alloc(32, 0x5a) };
const OTHER_KEY = { id: "vault-k1", secret: Buffer.alloc(32, 0x5b) };
const CHILD = "test/payload/fixtures/vault-child.ts";

/** A running VaultService (ts-proto definition) with its recorder's events and errors. */
interface Vault {
  client: Client;
  memory: MemoryEmitter;
  errors: Error[];
  close(): Promise<void>;
}

const vaults: Vault[] = [];

afterAll(async () => {
  for (const vault of vaults) await vault.close();
});

async function startVault(options: { key?: typeof KEY; rules?: RuleTable } = {}): Promise<Vault> {
  const memory = createMemoryEmitter();
  const errors: Error[] = [];
  const recorder = createRecorder({ service: "vault", emitters: [memory], onError: (e) => errors.push(e) });
  const interceptors = createAuditInterceptors({
    recorder,
    rules: options.rules ?? VAULT_RULES,
    ...(options.key === undefined ? {} : { payloadDigestKey: options.key }),
  });
  const server = await startVaultServer(definition, interceptors);
  const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  const vault = {
    client,
    memory,
    errors,
    close: async () => {
      client.close();
      await server.close();
    },
  };
  vaults.push(vault);
  return vault;
}

/** Makes one call and returns its responses and the payload of the event it recorded. */
async function capture(vault: Vault, method: string, requests: readonly unknown[]) {
  const before = vault.memory.events.length;
  const result = await call(vault.client, definition, method, requests);
  const events = await vault.memory.waitForCount(before + 1);
  return { ...result, payload: events[before]?.payload, event: events[before] };
}

const digestOf = (shape: typeof SecretShape, messages: readonly unknown[]) =>
  payloadDigest(shape, messages, KEY.secret);

function digestPayload(fields: Partial<Payload>): Payload {
  return {
    capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
    keyId: KEY.id,
    requestDigest: "",
    responseDigest: "",
    requestCount: 0,
    responseCount: 0,
    requestJson: "",
    responseJson: "",
    ...fields,
  };
}

function named(name: string) {
  return { ...putSecretRequest(), name };
}

describe("payload capture over gRPC", () => {
  it("records keyed digests of every request and response: unary, server and bidi streaming", async () => {
    const vault = await startVault({ key: KEY });
    const request = putSecretRequest();
    const unary = await capture(vault, "putSecret", [request]);
    expect(unary.payload).toStrictEqual(
      digestPayload({
        requestDigest: digestOf(PutSecretRequestShape, [request]),
        responseDigest: digestOf(SecretShape, unary.responses),
        requestCount: 1,
        responseCount: 1,
      }),
    );

    const read = { name: "db", reason: "rotate", oneTimeCode: CANARY };
    const watched = await capture(vault, "watchSecrets", [read]);
    expect(watched.responses).toHaveLength(3);
    expect(watched.payload).toStrictEqual(
      digestPayload({
        requestDigest: digestOf(ReadSecretRequestShape, [read]),
        responseDigest: digestOf(SecretShape, watched.responses),
        requestCount: 1,
        responseCount: 3,
      }),
    );

    const requests = [named("a"), named("b"), named("c")];
    const synced = await capture(vault, "syncSecrets", requests);
    expect(synced.payload).toStrictEqual(
      digestPayload({
        requestDigest: digestOf(PutSecretRequestShape, requests),
        responseDigest: digestOf(SecretShape, synced.responses),
        requestCount: 3,
        responseCount: 3,
      }),
    );
    expect(vault.errors).toStrictEqual([]);
  });

  it("records the digest the recipe gives with ts-proto's encode, lists of strings and bytes included", async () => {
    const vault = await startVault({ key: KEY });
    // Without maps: ts-proto writes map entries unsorted, the recipe's one exception.
    const request = { ...putSecretRequest(), labels: {}, env: {}, byHost: {} };
    const { payload } = await capture(vault, "putSecret", [request]);
    const framed = new BinaryWriter().bytes(PutSecretRequest.encode(clearSensitive(request)).finish());
    const recipe = createHmac("sha256", KEY.secret).update(framed.finish()).digest("hex");
    expect(payload?.requestDigest).toBe(recipe);
  });

  it("records the first message of each direction as redacted JSON: unary and client streaming", async () => {
    const vault = await startVault({ key: KEY });
    const rotated = await capture(vault, "rotateSecret", [putSecretRequest()]);
    expect(rotated.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
      keyId: "",
      requestDigest: "",
      responseDigest: "",
      requestCount: 1,
      responseCount: 1,
      requestJson: JSON.stringify(PUT_SECRET_REQUEST_JSON),
      responseJson: '{"name":"db-password","version":"1"}',
    });

    const imported = await capture(vault, "importSecrets", [named("x"), named("y"), named("z")]);
    expect(imported.payload).toMatchObject({
      capture: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
      requestCount: 3,
      responseCount: 1,
      requestJson: JSON.stringify(redactToJson(PutSecretRequestShape, named("x"))),
      responseJson: JSON.stringify(redactToJson(ImportSummaryShape, { imported: 3 })),
    });
    expect(imported.payload?.responseJson).toBe('{"imported":3}');
    for (const { event } of [rotated, imported]) {
      const text = JSON.stringify(event === undefined ? null : eventToJson(event));
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(RESPONSE_CANARY);
      expect(text).not.toContain(Buffer.from(CANARY).toString("base64"));
    }
  });

  it("records a request far over the JSON limit as the start of its JSON, cut within 2048 bytes", async () => {
    const vault = await startVault({ key: KEY });
    const huge = { ...putSecretRequest(), name: "n".repeat(1_000_000) };
    const { payload } = await capture(vault, "rotateSecret", [huge]);
    const json = payload?.requestJson ?? "";
    // The capture stops reading at the limit, so the marker cannot say how much was left unread.
    expect(json.endsWith("…[truncated]")).toBe(true);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(2048);
    const kept = json.slice(0, -"…[truncated]".length);
    expect(kept.length).toBeGreaterThan(2000);
    expect(JSON.stringify(redactToJson(PutSecretRequestShape, huge)).startsWith(kept)).toBe(true);
  });

  it("keeps digests when only sensitive fields change, and changes them with any other field", async () => {
    const vault = await startVault({ key: KEY });
    const base = await capture(vault, "putSecret", [putSecretRequest()]);
    const secretsChanged = {
      ...putSecretRequest(),
      value: "another secret",
      env: { OTHER: "x" },
      owner: {
        id: "u-1",
        email: "x@y",
        credential: { username: "alice", password: "p", recoveryCodes: ["r"], kind: "KIND_PASSWORD" },
      },
      blob: Buffer.from("other"),
    };
    const same = await capture(vault, "putSecret", [secretsChanged]);
    expect(same.payload?.requestDigest).toBe(base.payload?.requestDigest);
    const other = await capture(vault, "putSecret", [{ ...putSecretRequest(), labels: { team: "edge" } }]);
    expect(other.payload?.requestDigest).not.toBe(base.payload?.requestDigest);
    expect(other.payload?.responseDigest).toBe(base.payload?.responseDigest);
  });

  it("gives the same digests in another process (proto-loader) with the same key, others with another key", async () => {
    const compiled: Compiled = compile([CHILD]);
    const child: ChildProcess = fork(compiled.file(CHILD), [REPO, KEY.id, KEY.secret.toString("hex")], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      const [{ port }] = (await once(child, "message")) as [{ port: number }];
      const remote = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
      const local = await startVault({ key: KEY });
      const otherKey = await startVault({ key: OTHER_KEY });
      const calls: [string, unknown[]][] = [
        ["putSecret", [putSecretRequest()]],
        ["watchSecrets", [{ name: "db", reason: "r", oneTimeCode: CANARY }]],
        ["syncSecrets", [named("a"), named("b")]],
      ];
      const localPayloads: unknown[] = [];
      const otherPayloads: (Payload | undefined)[] = [];
      for (const [method, requests] of calls) {
        expect((await call(remote, definition, method, requests)).code).toBe(0);
        localPayloads.push((await capture(local, method, requests)).payload);
        otherPayloads.push((await capture(otherKey, method, requests)).payload);
      }
      child.send("payloads");
      const [{ payloads }] = (await once(child, "message")) as [{ payloads: unknown[] }];
      remote.close();
      expect(payloads).toStrictEqual(localPayloads);
      for (const [i, payload] of otherPayloads.entries()) {
        const mine = localPayloads[i] as Payload;
        expect(payload?.requestDigest).not.toBe(mine.requestDigest);
        expect(payload?.responseDigest).not.toBe(mine.responseDigest);
        expect(payload?.requestCount).toBe(mine.requestCount);
      }
    } finally {
      child.send("stop");
      await once(child, "exit");
      compiled.remove();
    }
  });

  it("records a failed call's received messages, and nothing for a rule without capture", async () => {
    // payload.proto digests ReadSecret; this vault's copy of its rule captures nothing.
    const readSecret = `${SERVICE}ReadSecret`;
    const rules: RuleTable = {
      ...VAULT_RULES,
      [readSecret]: { ...VAULT_RULES[readSecret], payload: "none" },
    };
    const vault = await startVault({ key: KEY, rules });
    const failed = await capture(vault, "putSecret", [named("fail")]);
    expect(failed.code).toBe(3);
    expect(failed.payload).toStrictEqual(
      digestPayload({ requestDigest: digestOf(PutSecretRequestShape, [named("fail")]), requestCount: 1 }),
    );
    const read = await capture(vault, "readSecret", [{ name: "db", reason: "", oneTimeCode: CANARY }]);
    expect(read.code).toBe(0);
    expect(read.event?.eventType).toBe(EventType.EVENT_TYPE_RESOURCE_ACCESS);
    expect(read.payload).toBeUndefined();
  });

  it("never breaks the call on messages its shapes do not fit: values are left out and reported", async () => {
    const misfit = {
      typeName: "wrong.Shape",
      fields: [
        {
          no: 1,
          name: "name",
          jsonName: "name",
          sensitive: false,
          kind: "scalar",
          scalar: "int64",
          repeated: false,
          optional: false,
          oneof: undefined,
        },
        {
          no: 3,
          name: "owner",
          jsonName: "owner",
          sensitive: false,
          kind: "scalar",
          scalar: "bool",
          repeated: false,
          optional: false,
          oneof: undefined,
        },
      ],
    } as const;
    const method = `${SERVICE}RotateSecret`;
    const rules = { [method]: { ...VAULT_RULES[method], requestShape: misfit } } as RuleTable;
    const vault = await startVault({ rules });
    const result = await capture(vault, "rotateSecret", [putSecretRequest()]);
    expect(result.code).toBe(0);
    expect(result.responses).toHaveLength(1);
    expect(result.payload).toMatchObject({ requestCount: 1, responseCount: 1, requestJson: "{}" });
    expect(vault.errors.map((error) => error.message)).toStrictEqual([
      `payload: ${method}: 2 value(s) left out: name: not a valid int64 (string); owner: not a valid bool (object)`,
    ]);
  });
});

describe("payload capture options", () => {
  const recorder = createRecorder({ service: "vault", emitters: [createMemoryEmitter()] });

  it("refuses rules that ask for digests without a key, naming their methods", () => {
    expect(() => createAuditInterceptors({ recorder, rules: VAULT_RULES })).toThrow(
      new AuditConfigError(
        `payloadDigestKey is required: rules capture payload digests for ${SERVICE}PutSecret, ${SERVICE}ReadSecret, ${SERVICE}WatchSecrets, ${SERVICE}SyncSecrets`,
      ),
    );
    const redactedOnly = Object.fromEntries(
      Object.entries(VAULT_RULES).filter(([, rule]) => rule.payload !== "digest"),
    );
    expect(() => createAuditInterceptors({ recorder, rules: redactedOnly })).not.toThrow();
  });

  it("refuses a capturing rule without shapes, an unknown capture mode and a bad key", () => {
    const method = `${SERVICE}RotateSecret`;
    const { responseShape: _, ...noShape } = VAULT_RULES[method] ?? {};
    expect(() => createAuditInterceptors({ recorder, rules: { [method]: noShape } as RuleTable })).toThrow(
      new AuditConfigError(
        `rules: ${method} captures payloads ("redacted") but has no requestShape and responseShape`,
      ),
    );
    const full = { [method]: { ...VAULT_RULES[method], payload: "full" } } as unknown as RuleTable;
    expect(() => createAuditInterceptors({ recorder, rules: full })).toThrow(
      new AuditConfigError(`rules: payload of ${method} must be "none", "digest" or "redacted", got full`),
    );
    const short = { id: "k", secret: Buffer.from(CANARY) };
    expect(() => createAuditInterceptors({ recorder, rules: VAULT_RULES, payloadDigestKey: short })).toThrow(
      new AuditConfigError("payloadDigestKey.secret must be a Uint8Array of at least 32 bytes, got 18 bytes"),
    );
  });
});
