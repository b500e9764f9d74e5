/**
 * A handler that answers twice: grpc-js sends the first response and drops the second, and so must the
 * capture. The digest is final once the call's event is made; a response passing after it (a second
 * callback of a unary or client-streaming handler) once threw ERR_CRYPTO_HASH_FINALIZED into the
 * handler, which ended the server process when the callback ran from a timer.
 * Real grpc-js server and client over loopback.
 */
import { Client, credentials, Server, type ServiceDefinition, type UntypedHandleCall } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { PayloadCapture } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { payloadDigest } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { VaultServiceService as definition } from "../fixtures/gen/payload/payload.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { call } from "./grpc-calls.js";
import { putSecretRequest } from "./messages.js";
import { ImportSummaryShape, PutSecretRequestShape, SERVICE, SecretShape, VAULT_RULES } from "./shapes.js";

const KEY = { id: "late-k1", secret: Buffer.alloc(32, 0x3c) };
const IMPORT = `${SERVICE}ImportSecrets`;

// ImportSecrets captured as digests too, for a client-streaming handler that answers twice.
const importRule = VAULT_RULES[IMPORT];
if (importRule === undefined) throw new Error(`no rule for ${IMPORT}`);
const RULES: RuleTable = { ...VAULT_RULES, [IMPORT]: { ...importRule, payload: "digest" } };

type Callback = (error: null, response: unknown) => void;

const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
});

/** A server whose putSecret and importSecrets answer once and keep their callback for a second answer. */
async function startTwiceServer() {
  const memory = createMemoryEmitter();
  const errors: Error[] = [];
  const recorder = createRecorder({ service: "vault", emitters: [memory], onError: (e) => errors.push(e) });
  const server = new Server({
    interceptors: createAuditInterceptors({ recorder, rules: RULES, payloadDigestKey: KEY }),
  });
  const callbacks: Callback[] = [];
  const answer = (callback: Callback, response: unknown) => {
    callback(null, response);
    callbacks.push(callback);
  };
  const implementation: Record<string, UntypedHandleCall> = {
    putSecret: ((_call: unknown, callback: Callback) =>
      answer(callback, { name: "first", value: "v", version: 1 })) as UntypedHandleCall,
    importSecrets: ((stream: { on(event: string, listener: () => void): void }, callback: Callback) => {
      stream.on("data", () => {});
      stream.on("end", () => answer(callback, { imported: 1 }));
    }) as UntypedHandleCall,
  };
  server.addService(definition as ServiceDefinition, implementation);
  const port = await listenOnLoopback(server);
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  closers.push(async () => {
    client.close();
    await stopServer(server);
  });
  return { client, memory, errors, callbacks };
}

/** Calls the handler's kept callback again; what it threw, if anything. */
function answerAgain(callback: Callback | undefined, response: unknown): unknown {
  if (callback === undefined) throw new Error("the handler kept no callback");
  try {
    callback(null, response);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("a handler that answers twice under a DIGEST rule", () => {
  it("unary: the second answer is dropped, never throws into the handler, the event holds the first", async () => {
    const server = await startTwiceServer();
    const request = putSecretRequest();
    const result = await call(server.client, definition, "putSecret", [request]);
    const [event] = await server.memory.waitForCount(1);

    const thrown = answerAgain(server.callbacks[0], { name: "second", value: "v", version: 2 });

    expect(thrown).toBeUndefined();
    expect(result.responses).toHaveLength(1);
    expect(event?.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
      keyId: KEY.id,
      requestDigest: payloadDigest(PutSecretRequestShape, [request], KEY.secret),
      responseDigest: payloadDigest(SecretShape, result.responses, KEY.secret),
      requestCount: 1,
      responseCount: 1,
      requestJson: "",
      responseJson: "",
    });
    expect(server.memory.events).toHaveLength(1);
    expect(server.errors).toStrictEqual([]);
  });

  it("client streaming: the same", async () => {
    const server = await startTwiceServer();
    const requests = [putSecretRequest(), putSecretRequest()];
    const result = await call(server.client, definition, "importSecrets", requests);
    const [event] = await server.memory.waitForCount(1);

    const thrown = answerAgain(server.callbacks[0], { imported: 2 });

    expect(thrown).toBeUndefined();
    expect(event?.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
      keyId: KEY.id,
      requestDigest: payloadDigest(PutSecretRequestShape, requests, KEY.secret),
      responseDigest: payloadDigest(ImportSummaryShape, result.responses, KEY.secret),
      requestCount: 2,
      responseCount: 1,
      requestJson: "",
      responseJson: "",
    });
    expect(server.memory.events).toHaveLength(1);
    expect(server.errors).toStrictEqual([]);
  });
});
