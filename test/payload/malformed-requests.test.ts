/**
 * Requests whose bytes do not decode (truncated, a wrong wire type, a length past the end) to a
 * method that captures payloads: grpc-js refuses them with INTERNAL before the handler and the
 * capture see a message, the server goes on serving, and no event holds any of their bytes.
 * Real gRPC over loopback, the raw bytes sent as they are.
 */
import { Client, credentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { VaultServiceService as definition, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { CANARY, putSecretRequest } from "./messages.js";
import { SERVICE, VAULT_RULES } from "./shapes.js";
import { startVaultServer } from "./vault-service.js";

const memory = createMemoryEmitter();
const errors: Error[] = [];
const recorder = createRecorder({ service: "vault", emitters: [memory], onError: (e) => errors.push(e) });
let server: { port: number; close(): Promise<void> };
let client: Client;

beforeAll(async () => {
  const interceptors = createAuditInterceptors({
    recorder,
    rules: VAULT_RULES,
    payloadDigestKey: { id: "k1", secret: Buffer.alloc(32, 3) },
  });
  server = await startVaultServer(definition, interceptors);
  client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await server.close();
});

/** Sends `bytes` as the request of `method` (RotateSecret: redacted JSON; PutSecret: digests). */
function send(method: string, bytes: Buffer): Promise<{ code: number; details: string }> {
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(`${SERVICE}${method}`, identity, identity, bytes, (error: ServiceError | null) =>
      resolve({ code: error?.code ?? status.OK, details: error?.details ?? "" }),
    );
  });
}

const whole = Buffer.from(PutSecretRequest.encode(putSecretRequest()).finish());
const canaryAt = whole.indexOf(CANARY);

const MALFORMED: Record<string, Buffer> = {
  "cut inside the sensitive value": whole.subarray(0, canaryAt + 4),
  "a length past the end": Buffer.concat([Buffer.from([0x12, 0x7f]), Buffer.from(CANARY)]),
  "wire type 7 (none such)": Buffer.concat([Buffer.from([0x0f]), Buffer.from(CANARY)]),
};

/** ts-proto stops decoding at an end-group tag (field 1): the bytes after it are not of the message. */
const AFTER_END_GROUP = Buffer.concat([Buffer.from([0x0c]), Buffer.from(CANARY)]);

describe("malformed request bytes to capturing methods", () => {
  it.each(Object.entries(MALFORMED))("%s: INTERNAL, and the server goes on", async (_, bytes) => {
    expect(bytes.includes(CANARY.slice(0, 4))).toBe(true);
    for (const method of ["PutSecret", "RotateSecret"]) {
      expect(await send(method, bytes)).toStrictEqual({
        code: status.INTERNAL,
        details: "Error deserializing request",
      });
    }
    expect((await send("RotateSecret", whole)).code).toBe(status.OK);
  });

  it("captures what ts-proto decodes before an end-group tag, not the bytes after it", async () => {
    const before = memory.events.length;
    expect(await send("RotateSecret", AFTER_END_GROUP)).toStrictEqual({ code: status.OK, details: "" });
    const [event] = (await memory.waitForCount(before + 1)).slice(before);
    expect(event?.payload?.requestJson).toBe("{}");
  });

  it("puts none of their bytes in any event, and reports no payload problem", async () => {
    await recorder.flush();
    const text = JSON.stringify(memory.events.map((event) => eventToJson(event)));
    expect(memory.events.length).toBeGreaterThanOrEqual(Object.keys(MALFORMED).length);
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(CANARY.slice(0, 4));
    expect(text).not.toContain(Buffer.from(CANARY).toString("base64").slice(0, 8));
    expect(errors).toStrictEqual([]);
  });
});
