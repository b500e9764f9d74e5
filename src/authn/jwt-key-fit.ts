import type { KeyObject as NodeKeyObject } from "node:crypto";
import type { CryptoKey, KeyObject } from "jose";
import { AuditConfigError } from "../errors/index.js";

/**
 * One key verifies one family of algorithms: an HMAC secret the HS ones, a public key of the matching
 * type (and curve) the others. Listing an algorithm the key does not fit lets a token pick it (an RSA
 * public key, which anyone may have, used as an HMAC secret), and a private key or a key of another
 * type refuses every valid token as `error` or `malformed`, which reads as an outage or blames the
 * client. So the options are refused instead. The error names key types and algorithms only.
 */
export function checkKeyFitsAlgorithms(
  key: CryptoKey | KeyObject | Uint8Array,
  algorithms: readonly string[],
): void {
  const fail = (problem: string): never => {
    throw new AuditConfigError(`jwt authenticator: ${problem}`);
  };
  const kind = keyKind(key);
  if (kind.type === "private") {
    fail("`key` is a private key: give the public key (such as `crypto.createPublicKey(privateKey)`)");
  }
  if (kind.usages !== undefined && !kind.usages.includes("verify")) {
    fail('`key` is a CryptoKey without the "verify" usage: import it with usages ["verify"]');
  }
  const misfit = algorithms.filter((alg) => !keyFits(kind, alg));
  if (misfit.length > 0) {
    fail(
      `\`algorithms\` ${misfit.join(", ")} cannot verify with \`key\` (${kind.description}): list only the algorithms of \`key\``,
    );
  }
  if (kind.family === "secret") checkSecretLength(secretBytes(key), algorithms, "`key`", fail);
}

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output (shorter ones can be brute-forced). */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Refuses an HMAC secret shorter than the hash of the longest listed HS algorithm (RFC 7518 §3.2):
 * a short secret can be guessed and a token forged with it; an empty one (an unset variable) refuses
 * every token as `error`, which reads as an outage. The error tells lengths, never the material.
 */
function checkSecretLength(
  bytes: number,
  algorithms: readonly string[],
  what: string,
  fail: (problem: string) => never,
): void {
  const need = Math.max(32, ...algorithms.map((alg) => HMAC_MIN_BYTES[alg] ?? 0));
  if (bytes >= need) return;
  const alg = algorithms.find((name) => HMAC_MIN_BYTES[name] === need) ?? "HS256";
  fail(
    bytes === 0
      ? `${what} is an empty HMAC secret (an unset variable?): ${alg} needs at least ${need} bytes`
      : `${what} is an HMAC secret of ${bytes} bytes: ${alg} needs at least ${need} (RFC 7518 §3.2), such as crypto.randomBytes(${need})`,
  );
}

/** The length in bytes of an HMAC secret given as bytes, a KeyObject or a CryptoKey. */
function secretBytes(key: CryptoKey | KeyObject | Uint8Array): number {
  if (key instanceof Uint8Array) return key.length;
  const { algorithm } = key as Partial<CryptoKey>;
  if (typeof algorithm === "object" && algorithm !== null) {
    const bits = (algorithm as { length?: unknown }).length;
    return typeof bits === "number" ? Math.floor(bits / 8) : 0;
  }
  return (key as unknown as NodeKeyObject).symmetricKeySize ?? 0;
}

/** What `checkKeyFitsAlgorithms` reads of a key: its kind, never its material. */
interface KeyKind {
  type: string;
  /** "rsa", "rsa-pss", "ec", "ed25519", "ed448", "ml-dsa-44"…, or "secret". */
  family: string;
  /** An EC key's curve, as JOSE names it ("P-256"). */
  curve?: string;
  /** A CryptoKey's hash ("SHA-256"), which fixes the one algorithm it verifies. */
  hash?: string;
  /** A CryptoKey's usages. */
  usages?: readonly string[];
  description: string;
}

const NODE_CURVES: Readonly<Record<string, string>> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};
const WEBCRYPTO_FAMILIES: Readonly<Record<string, string>> = {
  "RSASSA-PKCS1-v1_5": "rsa",
  "RSA-PSS": "rsa-pss",
  ECDSA: "ec",
  Ed25519: "ed25519",
  Ed448: "ed448",
  HMAC: "secret",
};

function keyKind(key: CryptoKey | KeyObject | Uint8Array): KeyKind {
  if (key instanceof Uint8Array) return { type: "secret", family: "secret", description: "an HMAC secret" };
  const type = String(key.type);
  const { algorithm, usages } = key as Partial<CryptoKey>;
  if (typeof algorithm === "object" && algorithm !== null && Array.isArray(usages)) {
    const { name, namedCurve, hash } = algorithm as { name?: unknown; namedCurve?: unknown; hash?: unknown };
    const family = WEBCRYPTO_FAMILIES[String(name)] ?? String(name).toLowerCase();
    const hashName = typeof hash === "object" && hash !== null ? (hash as { name?: unknown }).name : hash;
    return {
      type,
      family,
      ...(typeof namedCurve === "string" ? { curve: namedCurve } : {}),
      ...(typeof hashName === "string" ? { hash: hashName } : {}),
      usages,
      description: `a ${type} ${String(name)} CryptoKey`,
    };
  }
  const keyObject = key as unknown as NodeKeyObject;
  if (type === "secret") return { type, family: "secret", description: "an HMAC secret" };
  const family = String(keyObject.asymmetricKeyType);
  const nodeCurve = keyObject.asymmetricKeyDetails?.namedCurve;
  const curve = nodeCurve === undefined ? undefined : (NODE_CURVES[nodeCurve] ?? nodeCurve);
  return {
    type,
    family,
    ...(curve === undefined ? {} : { curve }),
    description: `a ${type} ${family}${curve === undefined ? "" : ` ${curve}`} key`,
  };
}

/** Whether a key of `kind` verifies `alg` (jose's names). */
function keyFits(kind: KeyKind, alg: string): boolean {
  const bits = alg.slice(2);
  const sha = `SHA-${bits}`;
  const hashFits = kind.hash === undefined || kind.hash === sha;
  switch (alg.slice(0, 2)) {
    case "HS":
      return kind.family === "secret" && hashFits;
    case "RS":
      return kind.family === "rsa" && hashFits;
    case "PS":
      return (kind.family === "rsa-pss" || (kind.family === "rsa" && kind.usages === undefined)) && hashFits;
    case "ES":
      return kind.family === "ec" && kind.curve === (bits === "512" ? "P-521" : `P-${bits}`);
    default:
      if (alg === "EdDSA") return kind.family === "ed25519" || kind.family === "ed448";
      if (alg === "Ed25519") return kind.family === "ed25519";
      return kind.family === alg.toLowerCase(); // ML-DSA-44: "ml-dsa-44"
  }
}

/**
 * Checks a local key set before use: an empty one would refuse every token as `unknown_key`, and an
 * "oct" (HMAC) key is never used (jose takes only public keys from a key set: every token it would
 * verify is refused as `error`). A key set of another shape is left to jose, which refuses it.
 */
export function checkLocalKeySet(jwks: unknown): void {
  if (typeof jwks !== "object" || jwks === null) return;
  const { keys } = jwks as { keys?: unknown };
  if (!Array.isArray(keys)) return;
  if (keys.length === 0) {
    throw new AuditConfigError(
      "jwt authenticator: `jwks` has no keys: every token would be refused as unknown_key",
    );
  }
  const secret = keys.findIndex((jwk: unknown) => (jwk as { kty?: unknown } | null)?.kty === "oct");
  if (secret !== -1) {
    throw new AuditConfigError(
      `jwt authenticator: \`jwks.keys[${secret}]\` is an HMAC secret ("oct"): a key set holds public keys only (jose refuses secrets from one); give the secret as \`key\``,
    );
  }
}
