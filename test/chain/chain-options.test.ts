import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createRecorder, type RecorderOptions } from "../../src/recorder/recorder.js";
import { PUBLIC_KEY, SIGNING_KEY } from "./trail.js";

const PEM = SIGNING_KEY.export({ type: "pkcs8", format: "pem" }).toString();
const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

function create(chain: unknown) {
  return () =>
    createRecorder({ service: "s", emitters: [createNoopEmitter()], chain } as unknown as RecorderOptions);
}

describe("chain options", () => {
  it("takes a KeyObject or a PEM private key with its id", () => {
    for (const chain of [
      true,
      false,
      undefined,
      {},
      { signingKey: SIGNING_KEY, keyId: "k" },
      { signingKey: PEM, keyId: "k" },
    ]) {
      expect(create(chain)).not.toThrow();
    }
  });

  it.each<[string, unknown, string]>([
    ["not an object", "yes", "createRecorder: `chain` must be true, false or an object of chain options"],
    [
      "an RSA key",
      { signingKey: rsa, keyId: "k" },
      "createRecorder: `chain.signingKey` must be an Ed25519 key, got a key of type rsa",
    ],
    [
      "an EC key",
      { signingKey: ec, keyId: "k" },
      "createRecorder: `chain.signingKey` must be an Ed25519 key, got a key of type ec",
    ],
    [
      "a public key",
      { signingKey: PUBLIC_KEY, keyId: "k" },
      "createRecorder: `chain.signingKey` must be a private key, got a public key",
    ],
    [
      "text that is no PEM",
      { signingKey: "s3cr3t-not-a-key", keyId: "k" },
      "createRecorder: `chain.signingKey` is not a private key in PEM form",
    ],
    [
      "a Buffer",
      { signingKey: Buffer.from(PEM), keyId: "k" },
      "createRecorder: `chain.signingKey` must be a KeyObject or a PEM string",
    ],
    [
      "a key without keyId",
      { signingKey: SIGNING_KEY },
      "createRecorder: `chain.keyId` must be a non-empty string of up to 128 characters without spaces or control characters, naming `chain.signingKey`",
    ],
    ["an empty keyId", { signingKey: SIGNING_KEY, keyId: "" }, "`chain.keyId` must be a non-empty string"],
    [
      "a keyId with a newline",
      { signingKey: SIGNING_KEY, keyId: "a\nb" },
      "`chain.keyId` must be a non-empty string",
    ],
    [
      "a keyId without key",
      { keyId: "k" },
      "createRecorder: `chain.keyId` is set but `chain.signingKey` is not",
    ],
    [
      "checkpointEvery 0",
      { checkpointEvery: 0 },
      "createRecorder: `chain.checkpointEvery` must be a whole number of events ≥ 1, got 0",
    ],
    [
      "checkpointEvery 1.5",
      { checkpointEvery: 1.5 },
      "`chain.checkpointEvery` must be a whole number of events ≥ 1, got 1.5",
    ],
    [
      "checkpointIntervalMs 0",
      { checkpointIntervalMs: 0 },
      "createRecorder: `chain.checkpointIntervalMs` must be a number of ms from 1 to 2147483647 (what a timer holds), got 0",
    ],
    [
      "checkpointIntervalMs too long",
      { checkpointIntervalMs: 2 ** 31 },
      "`chain.checkpointIntervalMs` must be a number of ms from 1 to 2147483647",
    ],
  ])("refuses %s with an AuditConfigError naming the option", (_, chain, message) => {
    expect(create(chain)).toThrow(AuditConfigError);
    expect(create(chain)).toThrow(message);
  });

  it("never shows the key in an error", () => {
    const secret = PEM.replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\nAAAA");
    for (const chain of [{ signingKey: secret, keyId: "k" }, { signingKey: PEM }]) {
      try {
        create(chain)();
        expect.unreachable();
      } catch (error) {
        const text = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause ?? "")}`;
        expect(text).not.toContain("PRIVATE KEY");
        expect(text).not.toContain(PEM.split("\n")[1]);
      }
    }
  });
});
