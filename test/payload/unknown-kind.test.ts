/**
 * A field kind the capture does not know is reported, not skipped: the interceptors refuse such a
 * shape when created (shape-check.test.ts), but a hand-written shape is a plain object that may be
 * changed after, and the capture must not hide what it could not read. Over real gRPC, both modes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { payloadDigest } from "../../src/payload/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { LOGIN, loginRule, startLogin, stringField } from "./login-service.js";

const KEY = { id: "login-k1", secret: Buffer.alloc(32, 0x61) };
const CANARY = "hunter2-CANARY-kind";
const REQUEST = { user: "alice", note: "hi", password: CANARY };

/** message LoginRequest { string user = 1; string note = 2; string password = 3 [sensitive]; } */
function loginRequestShape() {
  return {
    typeName: "login.v1.LoginRequest",
    fields: [stringField(1, "user"), stringField(2, "note"), stringField(3, "password", { sensitive: true })],
  };
}

const closing: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closing) await close();
});

/** Makes one Login call after `note`'s kind was changed to "text"; its status, payload and onError reports. */
async function callWithChangedKind(payload: "digest" | "redacted") {
  const shape = loginRequestShape();
  const memory = createMemoryEmitter();
  const errors: string[] = [];
  const recorder = createRecorder({
    service: "login",
    emitters: [memory],
    onError: (error) => errors.push(error.message),
  });
  const rules = loginRule(payload, shape) as unknown as RuleTable;
  const interceptors = createAuditInterceptors({ recorder, rules, payloadDigestKey: KEY });
  const note = shape.fields[1] as { kind: unknown };
  note.kind = "text";
  const service = await startLogin(interceptors);
  closing.push(async () => {
    await service.close();
    await recorder.close();
  });
  const code = await service.login(REQUEST);
  const [event] = await memory.waitForCount(1);
  return { code, payload: event?.payload, errors };
}

const REPORTED = `payload: ${LOGIN}: 1 value(s) left out: note: its shape has an unknown kind ("text")`;

describe("a field of a kind the capture does not know", () => {
  it("is left out of the redacted JSON and reported through onError; the call succeeds", async () => {
    const { code, payload, errors } = await callWithChangedKind("redacted");
    expect(code).toBe(0);
    expect(payload).toMatchObject({ requestCount: 1, requestJson: '{"user":"alice"}' });
    expect(errors).toStrictEqual([REPORTED]);
  });

  it("is left out of the digest and reported through onError; the call succeeds", async () => {
    const { code, payload, errors } = await callWithChangedKind("digest");
    expect(code).toBe(0);
    const withoutNote = payloadDigest(
      loginRequestShape() as unknown as MessageShape,
      [{ user: "alice" }],
      KEY.secret,
    );
    expect(payload).toMatchObject({ keyId: KEY.id, requestCount: 1, requestDigest: withoutNote });
    expect(errors).toStrictEqual([REPORTED]);
  });
});
