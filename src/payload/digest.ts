import { createHmac, createSecretKey, type Hmac, type KeyObject, timingSafeEqual } from "node:crypto";
import { AuditConfigError, AuditInputError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { MessageShape } from "../rules/message-shape.js";
import { encodeCanonical } from "./canonical-encoding.js";
import type { PayloadProblems } from "./read-message.js";
import { typeName } from "./read-problems.js";
import { checkShape } from "./shape-argument.js";

/**
 * An HMAC key for payload digests. Events name the key by `id`; rotate by configuring a key with a
 * new id (old events keep naming the old one) and verify with every key by id.
 */
export interface PayloadDigestKey {
  /** Names the key in events (`payload.key_id`): 1 to 64 visible ASCII characters. Not secret. */
  id: string;
  /** The HMAC-SHA256 key: at least 32 bytes. Copied when the key is taken; never written anywhere. */
  secret: Uint8Array;
}

/** The field names of a PayloadDigestKey (a misspelt one is refused). */
const PAYLOAD_DIGEST_KEY_NAMES = Object.keys({ id: 1, secret: 1 } satisfies Record<
  keyof PayloadDigestKey,
  1
>);

/** A checked key: its id and the secret copied into a KeyObject. @internal */
export interface DigestKey {
  readonly id: string;
  readonly key: KeyObject;
}

/** Shortest secret accepted: 32 bytes, the HMAC-SHA256 output size. */
export const MIN_SECRET_BYTES = 32;

const KEY_ID = /^[\x21-\x7e]{1,64}$/;

/**
 * `key` checked and copied. Throws an AuditConfigError naming `option` when it is not a
 * PayloadDigestKey; the message never holds the secret (only its length).
 * @internal
 */
export function toDigestKey(key: unknown, option: string): DigestKey {
  // The shape first: a bare secret (bytes or their text) or a list would be judged by its indexes.
  const bytes = ArrayBuffer.isView(key) || key instanceof ArrayBuffer;
  if (typeof key !== "object" || key === null || bytes || Array.isArray(key)) {
    const got = key === null ? "null" : bytes ? "bytes" : Array.isArray(key) ? "an array" : typeof key;
    throw new AuditConfigError(
      `${option} must be an object { id, secret }, got ${got}: pass the secret as { id: "<key id>", secret: <its bytes> }`,
    );
  }
  rejectUnknownOptions(option, key, PAYLOAD_DIGEST_KEY_NAMES);
  const { id, secret } = key as { id?: unknown; secret?: unknown };
  if (typeof id !== "string" || !KEY_ID.test(id)) {
    throw new AuditConfigError(`${option}.id must be 1 to 64 visible ASCII characters`);
  }
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    const got = secret instanceof Uint8Array ? `${secret.length} bytes` : typeof secret;
    throw new AuditConfigError(
      `${option}.secret must be a Uint8Array of at least ${MIN_SECRET_BYTES} bytes, got ${got}`,
    );
  }
  return { id, key: createSecretKey(Buffer.from(secret)) };
}

/**
 * The keyed digest of one direction of a call, fed message by message: HMAC-SHA256 over each
 * message's canonical encoding, each preceded by its length as a protobuf varint (the framing of
 * length-delimited protobuf streams), so a stream's digest covers the order and the boundaries of its
 * messages. No messages: no digest ("").
 * @internal
 */
export class RunningDigest {
  private readonly hmac: Hmac;
  /** Messages added. */
  count = 0;

  constructor(key: KeyObject) {
    this.hmac = createHmac("sha256", key);
  }

  /** Adds one message's canonical bytes. */
  add(bytes: Uint8Array): void {
    this.hmac.update(varint(bytes.length));
    this.hmac.update(bytes);
    this.count++;
  }

  /** Lowercase hex of the digest, or "" when no message was added. Call once. */
  hex(): string {
    const hex = this.hmac.digest("hex");
    return this.count === 0 ? "" : hex;
  }
}

/**
 * The payload digest of `messages` (one direction of a call, in order) with `secret`: what an event's
 * `request_digest` or `response_digest` holds when the call's messages were these. Lowercase hex; ""
 * for no messages. The recipe it follows is in docs/payload-capture.md. Never throws for odd messages:
 * values of the wrong type are left out (and counted in `problems` when given), as when they were
 * captured. A secret that is not a Uint8Array (such as the key's hex text) is an AuditConfigError.
 */
export function payloadDigest(
  shape: MessageShape,
  messages: Iterable<unknown>,
  secret: Uint8Array,
  problems?: PayloadProblems,
): string {
  return digestWith(secretKey(secret, "payloadDigest: secret"), shape, messages, problems);
}

function digestWith(
  key: KeyObject,
  shape: MessageShape,
  messages: Iterable<unknown>,
  problems?: PayloadProblems,
): string {
  const digest = new RunningDigest(key);
  for (const message of messages) digest.add(encodeCanonical(shape, message, problems));
  return digest.hex();
}

/** The digest fields of an event's payload (`AuditEvent.payload`). */
export interface DigestedPayload {
  /** Id of the key the digests were made with. */
  keyId: string;
  /** Lowercase hex HMAC-SHA256 of the request messages; "" for none. */
  requestDigest: string;
  /** The same of the response messages. */
  responseDigest: string;
  /** Request messages digested. */
  requestCount: number;
  /** Response messages digested. */
  responseCount: number;
}

/** Why a payload digest does not verify, or "ok". */
export type PayloadVerification = "ok" | "unknown_key" | "count_mismatch" | "digest_mismatch";

/** The directions of a call whose digests an event holds. */
const DIRECTIONS: readonly unknown[] = ["request", "response"];

/**
 * Checks that one direction of an event's payload digest is that of `messages`, with the key the event
 * names, taken from `secrets` by key id (a Map, as `verifyChains` takes its `publicKeys`, or an object):
 * "ok", "unknown_key" (no secret for its key id), "count_mismatch" (another number of messages) or
 * "digest_mismatch" (other content, or another key with the same id). Compares in constant time. The
 * secret of the key id, when given, must be a Uint8Array: anything else is an AuditConfigError, never
 * a "digest_mismatch" that would look like an edited payload. A `payload` that is not an object, a
 * `direction` other than "request" or "response", `messages` that are not an array or a `shape` that
 * is not a MessageShape is an AuditInputError.
 */
export function verifyPayloadDigest(
  payload: DigestedPayload,
  direction: "request" | "response",
  shape: MessageShape,
  messages: readonly unknown[],
  secrets: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>,
): PayloadVerification {
  if (typeof payload !== "object" || payload === null)
    throw new AuditInputError(
      `verifyPayloadDigest: \`payload\` must be an event's payload, got ${typeName(payload)}`,
    );
  if (!DIRECTIONS.includes(direction))
    throw new AuditInputError(
      `verifyPayloadDigest: \`direction\` must be "request" or "response", got ${shown(direction)}`,
    );
  if (!Array.isArray(messages))
    throw new AuditInputError(
      `verifyPayloadDigest: \`messages\` must be an array, got ${typeName(messages)}`,
    );
  checkShape("verifyPayloadDigest", shape);
  if (typeof secrets !== "object" || secrets === null)
    throw new AuditConfigError(
      `verifyPayloadDigest: \`secrets\` must be a Map or an object of key id to Uint8Array, got ${typeName(secrets)}`,
    );
  const secret = secretOf(secrets, payload.keyId);
  if (secret === undefined) return "unknown_key";
  const [digest, count] =
    direction === "request"
      ? [payload.requestDigest, payload.requestCount]
      : [payload.responseDigest, payload.responseCount];
  const key = secretKey(secret, `verifyPayloadDigest: secrets[${JSON.stringify(payload.keyId)}]`);
  if (count !== messages.length) return "count_mismatch";
  const expected = Buffer.from(digestWith(key, shape, messages), "utf8");
  const actual = Buffer.from(digest, "utf8");
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? "ok" : "digest_mismatch";
}

/** The secret of `keyId` in `secrets`, a Map or an object (never what every object inherits). */
function secretOf(
  secrets: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>,
  keyId: string,
): unknown {
  if (secrets instanceof Map) return secrets.get(keyId);
  const record = secrets as Readonly<Record<string, Uint8Array>>;
  return Object.hasOwn(record, keyId) ? record[keyId] : undefined;
}

/** A direction as an error shows it: a string quoted (and cut at 40 characters), else its type. */
function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : typeName(value);
}

/**
 * A secret given to the digest functions as a KeyObject. Anything but bytes is an AuditConfigError
 * naming `name`: a hex or base64 string would otherwise be taken as the key's UTF-8 text, and every
 * digest would look tampered with. So is a secret shorter than a `payloadDigestKey` may be (32 bytes):
 * no event was digested with one, and a short one can be guessed.
 */
function secretKey(secret: unknown, name: string): KeyObject {
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    const got =
      secret instanceof Uint8Array ? `${secret.length} bytes` : secret === null ? "null" : typeof secret;
    throw new AuditConfigError(
      `${name} must be a Uint8Array of at least ${MIN_SECRET_BYTES} bytes, got ${got}`,
    );
  }
  return createSecretKey(Buffer.from(secret));
}

/** `value` as a protobuf varint (lengths are below 2^32). */
function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}
