// verifyPayloadDigest's direction and secrets (review R91): a direction other than "request" was checked
// against the response digest ("requests" answered "digest_mismatch", which reads as an edited
// payload), and a Map of secrets, the shape verifyChains takes its keys in, answered "unknown_key".
import { describe, expect, it } from "vitest";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import { payloadDigest, verifyPayloadDigest } from "../../src/payload/index.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { PutSecretRequestShape, SecretShape } from "./shapes.js";

const SECRET = Buffer.alloc(32, 7);
const OTHER_SECRET = Buffer.alloc(32, 8);
const request = PutSecretRequest.fromPartial({ name: "db" });
const response = { name: "db", value: "", version: 3 };
const payload = {
  keyId: "k1",
  requestDigest: payloadDigest(PutSecretRequestShape, [request], SECRET),
  responseDigest: payloadDigest(SecretShape, [response], SECRET),
  requestCount: 1,
  responseCount: 1,
};

describe("verifyPayloadDigest's direction", () => {
  it.each([
    ["a plural", "requests", '"requests"'],
    ["another case", "Request", '"Request"'],
    ["an empty string", "", '""'],
    ["a long string, cut", "x".repeat(100), `"${"x".repeat(40)}"`],
    ["undefined", undefined, "undefined"],
    ["a number", 0, "number"],
  ])(
    "refuses %s with an AuditInputError naming the accepted values, which it checks",
    (_, direction, got) => {
      const wrong = direction as unknown as "request";
      expect(() =>
        verifyPayloadDigest(payload, wrong, PutSecretRequestShape, [request], { k1: SECRET }),
      ).toThrow(
        new AuditInputError(`verifyPayloadDigest: \`direction\` must be "request" or "response", got ${got}`),
      );
      const secrets = { k1: SECRET };
      expect(verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], secrets)).toBe("ok");
      expect(verifyPayloadDigest(payload, "response", SecretShape, [response], secrets)).toBe("ok");
    },
  );
});

describe("verifyPayloadDigest's secrets", () => {
  it("takes a Map of key id to secret, as verifyChains takes its publicKeys", () => {
    const check = (secrets: ReadonlyMap<string, Uint8Array>) =>
      verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], secrets);
    expect(check(new Map([["k1", SECRET]]))).toBe("ok");
    expect(
      check(
        new Map([
          ["k0", OTHER_SECRET],
          ["k1", SECRET],
        ]),
      ),
    ).toBe("ok");
    expect(check(new Map([["k1", OTHER_SECRET]]))).toBe("digest_mismatch");
    expect(check(new Map([["k2", SECRET]]))).toBe("unknown_key");
    expect(check(new Map())).toBe("unknown_key");
  });

  it("checks a Map's secret as an object's: anything but bytes is an AuditConfigError", () => {
    const hex = new Map([["k1", SECRET.toString("hex") as unknown as Uint8Array]]);
    expect(() => verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], hex)).toThrow(
      new AuditConfigError(
        'verifyPayloadDigest: secrets["k1"] must be a Uint8Array of at least 32 bytes, got string',
      ),
    );
  });

  it("refuses secrets that are neither a Map nor an object", () => {
    const wrong = "k1" as unknown as Record<string, Uint8Array>;
    expect(() => verifyPayloadDigest(payload, "request", PutSecretRequestShape, [request], wrong)).toThrow(
      new AuditConfigError(
        "verifyPayloadDigest: `secrets` must be a Map or an object of key id to Uint8Array, got string",
      ),
    );
  });
});
