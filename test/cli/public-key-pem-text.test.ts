// Review R125/R127: `--public-key` given the PEM text instead of its file (`k="$(cat key.pem)"`) failed
// with the value repeated whole: commander's "argument '<value>' is invalid", then "Cannot read <value>".
// Had it been the private key (which the option also takes, from a file), the error printed it. Now the
// parser names the mistake, and the CLI shows the value hidden, for `verify` and `ui` alike, also for a
// key body pasted without its BEGIN/END lines.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { InvalidArgumentError } from "commander";
import { beforeAll, expect, it } from "vitest";
import { publicKeyArgument } from "../../src/cli/verify-options.js";
import { PUBLIC_KEY, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const PRIVATE_PEM = SIGNING_KEY.export({ type: "pkcs8", format: "pem" }).toString();
const PUBLIC_PEM = PUBLIC_KEY.export({ type: "spki", format: "pem" }).toString();
/** The base64 body of the private key: what must never be printed. */
const PRIVATE_BODY = PRIVATE_PEM.split("\n")[1] ?? "";
const PEM_TEXT =
  "The value names no file and holds a key's text: give the path of a PEM file instead, as <keyId>=<pem file>.";

it.each([
  ["public", PUBLIC_PEM],
  ["private", PRIVATE_PEM],
])("the parser refuses a %s key's PEM text in place of its file, repeating none of it", (_kind, pem) => {
  expect(() => publicKeyArgument(`audit-2026=${pem}`)).toThrow(new InvalidArgumentError(PEM_TEXT));
});

it.each([
  ["verify, the PEM text", ["verify", "--public-key", `k1=${PRIVATE_PEM}`], PEM_TEXT],
  ["ui, --public-key=", ["ui", `--public-key=k1=${PRIVATE_PEM}`], PEM_TEXT],
  // The key's lines without BEGIN/END: line breaks no file path has.
  [
    "verify, the key's lines alone",
    ["verify", "--public-key", `k1=${PRIVATE_BODY}\n${PRIVATE_BODY}`],
    PEM_TEXT,
  ],
  // An Ed25519 key's one line of base64 (review R128), with its key id and without.
  ["verify, the key's one line", ["verify", "--public-key", `k1=${PRIVATE_BODY}`], PEM_TEXT],
  ["ui, the key's one line alone", ["ui", "--public-key", PRIVATE_BODY], "Use <keyId>=<pem file>."],
])("%s: a usage error that shows the value hidden", async (_name, args, reason) => {
  const run = await runCli(args);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain("argument '<value with credentials hidden>' is invalid.");
  expect(run.stderr).toContain(reason);
  expect(PRIVATE_BODY).not.toBe("");
  expect(run.stderr).not.toContain(PRIVATE_BODY);
});

it("reads a key file whose name holds dashes, or whose path is a long run of base64 letters", () => {
  const dashes = join(tempDir(), "audit-----2026.pub.pem");
  // mkdtemp adds letters and digits only: below /tmp itself (not the test run's folder, whose name holds
  // dashes), the whole path matches the base64 run holdsKeyText looks for.
  const letters = join(mkdtempSync("/tmp/pk"), "A".repeat(48));
  try {
    for (const file of [dashes, letters]) {
      writeFileSync(file, PUBLIC_PEM);
      expect([...publicKeyArgument(`k=${file}`).keys()], file).toStrictEqual(["k"]);
    }
    expect(letters).toMatch(/^[A-Za-z0-9+/]{40,}$/);
  } finally {
    rmSync(dirname(letters), { recursive: true, force: true });
  }
});
