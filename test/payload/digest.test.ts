import { createHmac } from "node:crypto";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { payloadDigest, toDigestKey, verifyPayloadDigest } from "../../src/payload/index.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { CANARY, clearSensitive, putSecretRequest } from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

const SECRET = Buffer.alloc(32, 7);
const OTHER_SECRET = Buffer.alloc(32, 8);

/** Two messages of one stream, without maps (the recipe's ts-proto step needs no key sorting). */
function stream(): PutSecretRequest[] {
  const first: PutSecretRequest = { ...putSecretRequest(), labels: {}, env: { TOKEN: CANARY }, byHost: {} };
  return [first, { ...first, name: "second", source: { $case: "vaultPath", value: "kv/2" } }];
}

describe("payloadDigest", () => {
  it("follows the recipe of docs/payload-capture.md, step by step with ts-proto and node:crypto", () => {
    const messages = stream();
    // 1. Clear every sensitive field of each message; 2. encode it with ts-proto;
    // 3. frame each encoding with its length as a varint; 4. HMAC-SHA256 the frames with the key.
    const framed = new BinaryWriter();
    for (const message of messages) framed.bytes(PutSecretRequest.encode(clearSensitive(message)).finish());
    const expected = createHmac("sha256", SECRET).update(framed.finish()).digest("hex");
    expect(payloadDigest(PutSecretRequestShape, messages, SECRET)).toBe(expected);
  });

  it("differs with another key, ignores sensitive fields, follows other fields and the order", () => {
    const digest = payloadDigest(PutSecretRequestShape, stream(), SECRET);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(payloadDigest(PutSecretRequestShape, stream(), OTHER_SECRET)).not.toBe(digest);
    const otherSecrets = stream().map((message) => ({ ...message, value: "changed", env: {} }));
    expect(payloadDigest(PutSecretRequestShape, otherSecrets, SECRET)).toBe(digest);
    const [first, second] = stream();
    expect(payloadDigest(PutSecretRequestShape, [{ ...first, delta: 1 }, second], SECRET)).not.toBe(digest);
    expect(payloadDigest(PutSecretRequestShape, [second, first], SECRET)).not.toBe(digest);
    expect(payloadDigest(PutSecretRequestShape, [first], SECRET)).not.toBe(digest);
    expect(payloadDigest(PutSecretRequestShape, [], SECRET)).toBe("");
  });
});

describe("verifyPayloadDigest", () => {
  const messages = stream();
  const payload = {
    keyId: "k-2026",
    requestDigest: payloadDigest(PutSecretRequestShape, messages, SECRET),
    responseDigest: "",
    requestCount: 2,
    responseCount: 0,
  };

  it("checks with the key the payload names, by key id", () => {
    const keys = { "k-2025": OTHER_SECRET, "k-2026": SECRET };
    expect(verifyPayloadDigest(payload, "request", PutSecretRequestShape, messages, keys)).toBe("ok");
    expect(verifyPayloadDigest(payload, "response", PutSecretRequestShape, [], keys)).toBe("ok");
    expect(
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, messages, { "k-2025": SECRET }),
    ).toBe("unknown_key");
    expect(
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, messages, { "k-2026": OTHER_SECRET }),
    ).toBe("digest_mismatch");
    expect(
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, [messages[1], messages[0]], keys),
    ).toBe("digest_mismatch");
    expect(verifyPayloadDigest(payload, "request", PutSecretRequestShape, messages.slice(1), keys)).toBe(
      "count_mismatch",
    );
  });
});

describe("toDigestKey", () => {
  it("takes an id and a secret of at least 32 bytes, and copies the secret", () => {
    const secret = Buffer.alloc(32, 1);
    const key = toDigestKey({ id: "k1", secret }, "payloadDigestKey");
    secret.fill(2);
    expect(key.id).toBe("k1");
    expect(key.key.export()).toEqual(Buffer.alloc(32, 1));
  });

  it.each([
    [
      "no key",
      undefined,
      'payloadDigestKey must be an object { id, secret }, got undefined: pass the secret as { id: "<key id>", secret: <its bytes> }',
    ],
    [
      "the secret's bytes alone",
      Buffer.from(CANARY.repeat(3)),
      'payloadDigestKey must be an object { id, secret }, got bytes: pass the secret as { id: "<key id>", secret: <its bytes> }',
    ],
    [
      "an id and a secret in a list",
      ["k1", Buffer.from(CANARY.repeat(3))],
      'payloadDigestKey must be an object { id, secret }, got an array: pass the secret as { id: "<key id>", secret: <its bytes> }',
    ],
    [
      "the secret's text alone",
      CANARY.repeat(3),
      'payloadDigestKey must be an object { id, secret }, got string: pass the secret as { id: "<key id>", secret: <its bytes> }',
    ],
    [
      "an empty id",
      { id: "", secret: SECRET },
      "payloadDigestKey.id must be 1 to 64 visible ASCII characters",
    ],
    [
      "an id with a space",
      { id: "a b", secret: SECRET },
      "payloadDigestKey.id must be 1 to 64 visible ASCII characters",
    ],
    [
      "a 65-character id",
      { id: "k".repeat(65), secret: SECRET },
      "payloadDigestKey.id must be 1 to 64 visible ASCII characters",
    ],
    [
      "an 18-byte secret",
      { id: "k", secret: Buffer.from(CANARY) },
      "payloadDigestKey.secret must be a Uint8Array of at least 32 bytes, got 18 bytes",
    ],
    [
      "a string secret",
      { id: "k", secret: CANARY.repeat(3) },
      "payloadDigestKey.secret must be a Uint8Array of at least 32 bytes, got string",
    ],
  ])("refuses %s with an AuditConfigError that never holds the secret", (_, key, message) => {
    expect(() => toDigestKey(key, "payloadDigestKey")).toThrow(new AuditConfigError(message));
  });
});
