// A Recorder takes any checkpoint key id without spaces or control characters, "team=audit" too, but
// `--public-key <keyId>=<pem file>` split at the first "=": the key of such an id could never be
// given, and every checkpoint it signed stayed `unknown_key`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { publicKeyArgument } from "../../src/cli/verify-options.js";
import { PUBLIC_KEY, recordTrail, SIGNING_KEY } from "../chain/trail.js";
import { tempDir } from "./helpers.js";

it("takes a key id holding '=' when what follows its first '=' names no file", async () => {
  const dir = tempDir();
  const file = join(dir, "audit.pub.pem");
  writeFileSync(file, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const events = await recordTrail(3, {
    recorder: { chain: { signingKey: SIGNING_KEY, keyId: "team=audit", checkpointEvery: 2 } },
  });

  const keys = publicKeyArgument(`team=audit=${file}`);
  expect([...keys.keys()]).toStrictEqual(["team=audit"]);
  const report = await verifyChains(events, { publicKeys: keys, expectSealed: true });
  expect(
    report.chains.map((chain) => [chain.checkpoints, chain.verifiedCheckpoints, chain.findings]),
  ).toStrictEqual([[2, 2, []]]);

  // The first "=" still wins when what follows it names a file; an error names the first file tried.
  const named = join(dir, "a=b.pem");
  writeFileSync(named, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  expect([...publicKeyArgument(`k=${named}`).keys()]).toStrictEqual(["k"]);
  const missing = join(dir, "missing.pem");
  expect(() => publicKeyArgument(`k=x=${missing}`)).toThrow(
    new InvalidArgumentError(`Cannot read x=${missing}: ENOENT.`),
  );
});
