// Review R125: `--public-key` given the PEM text instead of its file (`k="$(cat key.pem)"`) failed with
// "Cannot read -----BEGIN PUBLIC KEY-----…: ENOENT.", the text repeated whole: had it been the private key
// (which the option also takes, from a file), the error would have printed it. Now it names the mistake
// and repeats nothing of the value.
import { InvalidArgumentError } from "commander";
import { expect, it } from "vitest";
import { publicKeyArgument } from "../../src/cli/verify-options.js";
import { PUBLIC_KEY, SIGNING_KEY } from "../chain/trail.js";

it.each([
  ["public", PUBLIC_KEY.export({ type: "spki", format: "pem" }).toString()],
  ["private", SIGNING_KEY.export({ type: "pkcs8", format: "pem" }).toString()],
])("refuses a %s key's PEM text in place of its file, repeating none of it", (_kind, pem) => {
  expect(() => publicKeyArgument(`audit-2026=${pem}`)).toThrow(
    new InvalidArgumentError(
      "The value holds PEM text: give the path of a PEM file instead, as <keyId>=<pem file>.",
    ),
  );
});
