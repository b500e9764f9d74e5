import { createPrivateKey, KeyObject } from "node:crypto";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";

/** Options of the tamper-evident chain (`RecorderOptions.chain`). */
export interface ChainOptions {
  /**
   * Ed25519 private key that signs checkpoints: a KeyObject or a PEM (PKCS#8) string. With it the
   * Recorder writes a signed `chain.checkpoint` event every `checkpointEvery` events, every
   * `checkpointIntervalMs` when events came since the last one, and a final one on `close()`.
   * Default: none (events are chained, no checkpoints are written).
   */
  signingKey?: KeyObject | string;
  /**
   * Id of `signingKey`, written into each checkpoint so verifiers pick the public key: up to 128
   * characters, no spaces or control characters. Required with `signingKey`. Default: none.
   */
  keyId?: string;
  /** Events between two checkpoints. Default: 1000. */
  checkpointEvery?: number;
  /** Longest time between a checkpoint and the next, when events came in between. Default: 60000 (1 minute). */
  checkpointIntervalMs?: number;
}

/**
 * Defaults of `ChainOptions`.
 * @internal
 */
export const CHAIN_DEFAULTS = Object.freeze({ checkpointEvery: 1000, checkpointIntervalMs: 60_000 });

/** A private key and its id. @internal */
export interface CheckpointSigner {
  readonly privateKey: KeyObject;
  readonly keyId: string;
}

/** Chain options checked and resolved. @internal */
export interface ResolvedChainOptions {
  readonly signer: CheckpointSigner | undefined;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
}

/** The option names of `ChainOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  signingKey: 1,
  keyId: 1,
  checkpointEvery: 1,
  checkpointIntervalMs: 1,
} satisfies Record<keyof ChainOptions, 1>);

const MAX_KEY_ID_LENGTH = 128;

/**
 * Checks `RecorderOptions.chain` (true, false or ChainOptions; default true) and resolves it; undefined
 * when the chain is off. Throws an AuditConfigError naming the bad option, never showing a key.
 * @internal
 */
export function resolveChainOptions(
  value: boolean | ChainOptions | undefined,
  where: string,
): ResolvedChainOptions | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return { signer: undefined, ...CHAIN_DEFAULTS };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AuditConfigError(`${where}: \`chain\` must be true, false or an object of chain options`);
  }
  rejectUnknownOptions(`${where}: chain`, value, OPTION_NAMES);
  const { signingKey, keyId } = value;
  const checkpointEvery = value.checkpointEvery ?? CHAIN_DEFAULTS.checkpointEvery;
  const checkpointIntervalMs = value.checkpointIntervalMs ?? CHAIN_DEFAULTS.checkpointIntervalMs;
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1) {
    throw new AuditConfigError(
      `${where}: \`chain.checkpointEvery\` must be a whole number of events ≥ 1, got ${String(checkpointEvery)}`,
    );
  }
  checkTimerMs(`${where}: \`chain.checkpointIntervalMs\``, checkpointIntervalMs, { integer: false });
  if (signingKey === undefined) {
    if (keyId !== undefined) {
      throw new AuditConfigError(`${where}: \`chain.keyId\` is set but \`chain.signingKey\` is not`);
    }
    return { signer: undefined, checkpointEvery, checkpointIntervalMs };
  }
  if (
    typeof keyId !== "string" ||
    keyId === "" ||
    keyId.length > MAX_KEY_ID_LENGTH ||
    /[\s\p{Cc}]/u.test(keyId)
  ) {
    throw new AuditConfigError(
      `${where}: \`chain.keyId\` must be a non-empty string of up to ${MAX_KEY_ID_LENGTH} characters without spaces or control characters, naming \`chain.signingKey\``,
    );
  }
  const privateKey = toPrivateKey(signingKey, `${where}: \`chain.signingKey\``);
  return { signer: { privateKey, keyId }, checkpointEvery, checkpointIntervalMs };
}

/** The Ed25519 private KeyObject of a KeyObject or PEM; the error says what the key is, never its bytes. */
function toPrivateKey(key: unknown, name: string): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) keyObject = key;
  else if (typeof key === "string") {
    try {
      keyObject = createPrivateKey(key);
    } catch {
      // No cause: a parser's message could quote the text it was given.
      throw new AuditConfigError(`${name} is not a private key in PEM form`);
    }
  } else throw new AuditConfigError(`${name} must be a KeyObject or a PEM string`);
  if (keyObject.type !== "private") {
    throw new AuditConfigError(`${name} must be a private key, got a ${keyObject.type} key`);
  }
  if (keyObject.asymmetricKeyType !== "ed25519") {
    throw new AuditConfigError(
      `${name} must be an Ed25519 key, got a key of type ${keyObject.asymmetricKeyType ?? "unknown"}`,
    );
  }
  return keyObject;
}
