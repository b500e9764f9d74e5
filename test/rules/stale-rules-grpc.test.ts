// A server that updated grpc-audit but kept the rule tables an older protoc-gen-grpc-audit generated
// (the fixture from before rule formats) is told so once, and its calls are served and recorded as before.
import { Client, credentials } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { PayloadCapture } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { payloadDigest, redactToJson } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { resetRuleWarningsForTests } from "../../src/rules/rule-format.js";
import { VaultServiceService as definition } from "../fixtures/gen/payload/payload.js";
import { auditRules } from "../fixtures/stale-rules/payload_audit.v1.js";
import { call } from "../payload/grpc-calls.js";
import { putSecretRequest } from "../payload/messages.js";
import { startVaultServer } from "../payload/vault-service.js";

const KEY = { id: "vault-k1", secret: Buffer.alloc(32, 0x5a) };
const STALE: RuleTable = auditRules;
const PUT = "/fixtures.payload.v1.VaultService/PutSecret";
const ROTATE = "/fixtures.payload.v1.VaultService/RotateSecret";

const codes: unknown[] = [];
const listen = (warning: Error & { code?: unknown }) => codes.push(warning.code);
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  resetRuleWarningsForTests();
  process.on("warning", listen);
});
afterEach(() => {
  process.off("warning", listen);
});
afterAll(async () => {
  for (const close of closers) await close();
});

describe("rule tables generated before rule formats", () => {
  it("warn once at startup, and their calls are answered and recorded with payloads as before", async () => {
    const memory = createMemoryEmitter();
    const errors: Error[] = [];
    const recorder = createRecorder({ service: "vault", emitters: [memory], onError: (e) => errors.push(e) });
    const interceptors = createAuditInterceptors({ recorder, rules: [STALE], payloadDigestKey: KEY });
    const server = await startVaultServer(definition, interceptors);
    const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
    closers.push(async () => {
      client.close();
      await server.close();
    });

    const request = putSecretRequest();
    const put = await call(client, definition, "putSecret", [request]);
    const rotated = await call(client, definition, "rotateSecret", [request]);
    expect([put.code, rotated.code]).toStrictEqual([0, 0]);
    expect(put.responses).toHaveLength(1);
    const [putEvent, rotateEvent] = await memory.waitForCount(2);

    const shapes = (method: string) => {
      const { requestShape, responseShape } = STALE[method] ?? {};
      if (requestShape === undefined || responseShape === undefined) throw new Error(`${method}: no shapes`);
      return { requestShape, responseShape };
    };
    const putShapes = shapes(PUT);
    expect(putEvent?.operation).toBe(PUT);
    expect(putEvent?.target?.id).toBe("db-password");
    expect(putEvent?.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
      keyId: KEY.id,
      requestDigest: payloadDigest(putShapes.requestShape, [request], KEY.secret),
      responseDigest: payloadDigest(putShapes.responseShape, put.responses, KEY.secret),
      requestCount: 1,
      responseCount: 1,
      requestJson: "",
      responseJson: "",
    });
    const rotateShapes = shapes(ROTATE);
    expect(rotateEvent?.operation).toBe(ROTATE);
    expect(rotateEvent?.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
      keyId: "",
      requestDigest: "",
      responseDigest: "",
      requestCount: 1,
      responseCount: 1,
      requestJson: JSON.stringify(redactToJson(rotateShapes.requestShape, request)),
      responseJson: JSON.stringify(redactToJson(rotateShapes.responseShape, rotated.responses[0])),
    });
    expect(errors).toStrictEqual([]);
    expect(codes).toStrictEqual(["GRPC_AUDIT_STALE_RULES"]);
  });
});
