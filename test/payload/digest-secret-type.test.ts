// A secret handed to payloadDigest or verifyPayloadDigest as anything but bytes (the key's hex or
// base64 text, as read from an environment variable) was taken as the UTF-8 bytes of that text: every
// check answered "digest_mismatch", which reads as an edited payload, not as a wrong argument.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { payloadDigest, toDigestKey, verifyPayloadDigest } from "../../src/payload/index.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { PutSecretRequestShape } from "./shapes.js";

const SECRET = Buffer.alloc(32, 7);
const request = PutSecretRequest.fromPartial({ name: "db" });
const payload = {
  keyId: "k1",
  requestDigest: payloadDigest(PutSecretRequestShape, [request], SECRET),
  responseDigest: "",
  requestCount: 1,
  responseCount: 0,
};

describe("digest secrets that are not bytes", () => {
  it("verifies with the secret's bytes", () => {
    expect(verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], { k1: SECRET })).toBe(
      "ok",
    );
  });

  it.each([
    ["its hex text", SECRET.toString("hex"), "string"],
    ["a number", 7, "number"],
    ["null", null, "null"],
  ])("refuses %s with an AuditConfigError naming the key id, never the secret", (_, secret, type) => {
    const wrong = secret as unknown as Uint8Array;
    expect(() =>
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], { k1: wrong }),
    ).toThrow(
      new AuditConfigError(
        `verifyPayloadDigest: secrets["k1"] must be a Uint8Array of at least 32 bytes, got ${type}`,
      ),
    );
    expect(() => payloadDigest(PutSecretRequestShape, [request], wrong)).toThrow(
      new AuditConfigError(`payloadDigest: secret must be a Uint8Array of at least 32 bytes, got ${type}`),
    );
  });

  // Before the fix: a 0- or 1-byte secret made digests, though no payloadDigestKey may be that short.
  it.each([0, 1, 31])("refuses a secret of %i bytes, as payloadDigestKey does", (bytes) => {
    const short = new Uint8Array(bytes);
    expect(() => payloadDigest(PutSecretRequestShape, [request], short)).toThrow(
      new AuditConfigError(
        `payloadDigest: secret must be a Uint8Array of at least 32 bytes, got ${bytes} bytes`,
      ),
    );
    expect(() =>
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], { k1: short }),
    ).toThrow(
      new AuditConfigError(
        `verifyPayloadDigest: secrets["k1"] must be a Uint8Array of at least 32 bytes, got ${bytes} bytes`,
      ),
    );
  });

  // Before the fix: an extra, misspelt field (`secert`) was ignored without a word.
  it("refuses a payloadDigestKey with an unknown field", () => {
    expect(() => toDigestKey({ id: "k1", secret: SECRET, secert: SECRET }, "payloadDigestKey")).toThrow(
      new AuditConfigError("payloadDigestKey: unknown option `secert` (did you mean `secret`?)"),
    );
  });
});
