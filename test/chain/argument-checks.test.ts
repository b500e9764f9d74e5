// Chain options and verifyChains' arguments are checked up front: a misspelt option fails with its
// name, and a wrong argument with an AuditInputError instead of a TypeError from deep inside.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { resolveChainOptions } from "../../src/chain/chain-options.js";
import { verifyChains } from "../../src/chain/index.js";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";

describe("chain options", () => {
  it("refuse a misspelt option", () => {
    const resolve = () => resolveChainOptions({ checkpointEvry: 10 } as never, "createRecorder");
    expect(resolve).toThrow(AuditConfigError);
    expect(resolve).toThrow(
      "createRecorder: chain: unknown option `checkpointEvry` (did you mean `checkpointEvery`?)",
    );
  });
});

describe("verifyChains", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const cases: [string, unknown, unknown, typeof AuditInputError | typeof AuditConfigError, string][] = [
    [
      "no events",
      undefined,
      undefined,
      AuditInputError,
      "verifyChains: `events` must be an iterable or async iterable of AuditEvents",
    ],
    ["options that are not an object", [], 5, AuditInputError, "verifyChains: options must be an object"],
    [
      "publicKeys as a plain object",
      [],
      { publicKeys: { k1: publicKey } },
      AuditInputError,
      "verifyChains: `publicKeys` must be a Map of key id to public KeyObject",
    ],
    [
      "a private key among publicKeys",
      [],
      { publicKeys: new Map([["k1", privateKey]]) },
      AuditInputError,
      "verifyChains: `publicKeys` must be a Map of key id to public KeyObject",
    ],
    [
      "a misspelt option",
      [],
      { expectSeal: true },
      AuditConfigError,
      "verifyChains: unknown option `expectSeal` (did you mean `expectSealed`?)",
    ],
  ];
  for (const [what, events, options, type, message] of cases) {
    it(`refuses ${what}`, async () => {
      const verifying = verifyChains(events as never, options as never);
      await expect(verifying).rejects.toThrow(type);
      await expect(verifying).rejects.toThrow(message);
    });
  }

  it("takes a Map of public keys", async () => {
    const report = await verifyChains([], { publicKeys: new Map([["k1", publicKey]]) });
    expect(report.unusedKeys).toStrictEqual(["k1"]);
  });
});
