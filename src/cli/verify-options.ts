import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { InvalidArgumentError, Option } from "commander";

// The options `verify` and `ui` share: the keys checkpoints are signed with, and `--sealed`.

/**
 * Parses one `--public-key <keyId>=<pem file>` and adds it to `keys`: the file holds an Ed25519 public
 * key in PEM (SPKI), or its private key, from which the public key is taken; one PEM block only.
 */
export function publicKeyArgument(
  text: string,
  keys: ReadonlyMap<string, KeyObject> = new Map(),
): ReadonlyMap<string, KeyObject> {
  const equals = text.indexOf("=");
  if (equals < 1 || equals === text.length - 1) throw new InvalidArgumentError("Use <keyId>=<pem file>.");
  // A key's text pasted in place of its file: never repeated (it may be a private key), only named.
  if (holdsKeyText(text)) {
    throw new InvalidArgumentError(
      "The value names no file and holds a key's text: give the path of a PEM file instead, as <keyId>=<pem file>.",
    );
  }
  const { keyId, file, pem } = readKeyFile(text, equals);
  if (keys.has(keyId)) throw new InvalidArgumentError(`Key id ${keyId} is given twice.`);
  // Node reads the first PEM block only: a second key (a bundle of keys) would go unseen.
  const blocks = pem.match(/-----BEGIN /g)?.length ?? 0;
  if (blocks > 1) {
    throw new InvalidArgumentError(
      `${file} holds ${blocks} PEM blocks: give one key per file, with one --public-key <keyId>=<pem file> per key id.`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    // Without its passphrase no public key can be taken from it; verify needs none.
    if (pem.includes("ENCRYPTED")) {
      throw new InvalidArgumentError(
        `${file} holds an encrypted private key: give its public key (openssl pkey -in ${file} -pubout).`,
      );
    }
    throw new InvalidArgumentError(`${file} holds no key in PEM form.`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new InvalidArgumentError(`${file} holds a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519.`);
  }
  return new Map([...keys, [keyId, key]]);
}

/**
 * Whether a `--public-key` value holds a key's text rather than a file's path: it names no existing
 * file (after any "=") and holds PEM's BEGIN or END line, line breaks (the key's lines pasted without
 * them), or a long run of base64 alone after the key id (an Ed25519 key's one line: 64 characters).
 */
export function holdsKeyText(value: string): boolean {
  const looksLikeKey = /-----(?:BEGIN|END) |\n/.test(value) || /(?:^|=)[A-Za-z0-9+/]{40,}={0,2}$/.test(value);
  if (!looksLikeKey) return false;
  for (let equals = value.indexOf("="); equals > 0; equals = value.indexOf("=", equals + 1)) {
    if (existsSync(value.slice(equals + 1))) return false;
  }
  return true;
}

/**
 * The key id and the PEM text of `<keyId>=<pem file>`, split at the first "=" whose file can be read:
 * a key id may hold "=" itself (a Recorder takes any id without spaces), and "team=a=key.pem" is then
 * key id "team=a" when there is no file "a=key.pem".
 */
function readKeyFile(text: string, firstEquals: number): { keyId: string; file: string; pem: string } {
  let firstError: { file: string; code: string } | undefined;
  for (let equals = firstEquals; equals > 0; equals = text.indexOf("=", equals + 1)) {
    const file = text.slice(equals + 1);
    if (file === "") break;
    try {
      return { keyId: text.slice(0, equals), file, pem: readFileSync(file, "utf8") };
    } catch (error) {
      firstError ??= { file, code: (error as NodeJS.ErrnoException).code ?? "error" };
    }
  }
  throw new InvalidArgumentError(`Cannot read ${firstError?.file ?? text}: ${firstError?.code ?? "error"}.`);
}

/** `--public-key <keyId=pemFile>` (repeatable), shared by `verify` and `ui`. */
export function publicKeyOption(): Option {
  return new Option(
    "--public-key <keyId=pemFile>",
    "Ed25519 public key (PEM file) that checkpoints of keyId are signed with; repeat per key",
  ).argParser(publicKeyArgument);
}

/** `--sealed`, shared by `verify` and `ui`. */
export function sealedOption(): Option {
  return new Option(
    "--sealed",
    "expect every event in a chain that ends with a final checkpoint (its recorder has closed): no chained event at all is a finding",
  );
}
