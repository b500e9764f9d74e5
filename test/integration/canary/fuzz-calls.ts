/**
 * The calls of the canary fuzz: seeded, so a failure names a call that can be made again. Each request
 * message of test/fixtures/payload/payload.proto gets a unique canary in every sensitive field shape it
 * has (top level, nested, debug_redact, repeated message, repeated scalar, map key and value, map of
 * messages, oneof member, bytes), other fields at random, and unique plain markers in its non-sensitive
 * strings. Metadata asks the handler to echo canaries into the response, an audit attribute and, for
 * some calls, a failure's status message (see vault-child.ts).
 */
import type { Marks } from "./scan.js";

export type MethodName =
  | "putSecret"
  | "rotateSecret"
  | "readSecret"
  | "watchSecrets"
  | "importSecrets"
  | "syncSecrets";

const METHODS: readonly MethodName[] = [
  "putSecret",
  "rotateSecret",
  "readSecret",
  "watchSecrets",
  "importSecrets",
  "syncSecrets",
];

/**
 * Methods whose rule keeps a redacted copy of the first request (PAYLOAD_CAPTURE_REDACTED; WatchSecrets
 * by the child's override of its generated digest rule).
 */
export const REDACTED_METHODS: ReadonlySet<MethodName> = new Set([
  "rotateSecret",
  "importSecrets",
  "watchSecrets",
]);
/** Methods whose rule records a read (resource.access) rather than a mutation. */
export const ACCESS_METHODS: ReadonlySet<MethodName> = new Set(["readSecret", "watchSecrets"]);
/** Methods whose rule takes the target id from the request's name. */
export const NAMED_METHODS: ReadonlySet<MethodName> = new Set([
  "putSecret",
  "rotateSecret",
  "readSecret",
  "watchSecrets",
]);

/** Tokens by kind: valid ones, and ones the authenticator refuses (expired, signed by an unknown key). */
export interface Tokens {
  valid: readonly string[];
  expired: readonly string[];
  foreign: readonly string[];
}

export interface FuzzCall {
  index: number;
  method: MethodName;
  requests: Record<string, unknown>[];
  /** Metadata to send: authorization, x-request-id and what the handler echoes. */
  metadata: Record<string, string>;
  requestId: string;
  /** False when the token is refused: only an authn event is recorded. */
  authenticated: boolean;
  /** The handler fails the call with a status message holding a canary. */
  fails: boolean;
  /** The plain markers of the first request: a REDACTED rule's JSON must hold every one. */
  firstRequestPlains: string[];
  /** The request's name (the target id of the named methods). */
  name: string;
  /** The plain attribute the handler sets. */
  attributePlain: string;
}

/** mulberry32: a small seeded generator. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Calls, in order, until they hold `messages` request messages in all. */
export function fuzzCalls(marks: Marks, tokens: Tokens, messages: number): FuzzCall[] {
  const next = random(marks.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const calls: FuzzCall[] = [];
  for (let sent = 0; sent < messages; ) {
    const index = calls.length;
    const method = METHODS[index % METHODS.length] as MethodName;
    const where = `call ${index} ${method}`;
    const streaming = method === "importSecrets" || method === "syncSecrets";
    const count = streaming ? Math.min(2 + Math.floor(next() * 4), messages - sent) : 1;
    const built = Array.from({ length: count }, (_, i) =>
      ACCESS_METHODS.has(method)
        ? readRequest(marks, next, `${where} request ${i}`)
        : putRequest(marks, next, `${where} request ${i}`),
    );
    sent += count;
    const roll = next();
    const authenticated = roll >= 0.1;
    const requestId = marks.plain();
    const attributePlain = marks.plain();
    const fails = authenticated && next() < 0.2;
    const metadata: Record<string, string> = {
      authorization: `Bearer ${pick(authenticated ? tokens.valid : roll < 0.05 ? tokens.expired : tokens.foreign)}`,
      "x-request-id": requestId,
      "x-echo-value": marks.canary(`${where}: response Secret.value`),
      "x-echo-attribute": marks.canary(`${where}: attribute value`),
      "x-echo-plain": attributePlain,
    };
    if (fails) {
      metadata["x-echo-failure"] = marks.canary(`${where}: status message`);
      // Two-byte characters before it, so the secret falls before, across and after the 256-byte cut.
      metadata["x-echo-padding"] = String(Math.floor(next() * 130));
    }
    calls.push({
      index,
      method,
      requests: built.map((b) => b.message),
      metadata,
      requestId,
      authenticated,
      fails,
      firstRequestPlains: built[0]?.plains ?? [],
      name: String(built[0]?.message.name ?? ""),
      attributePlain,
    });
  }
  return calls;
}

type Built = { message: Record<string, unknown>; plains: string[] };

function readRequest(marks: Marks, next: () => number, where: string): Built {
  const plains: string[] = [];
  const plain = () => {
    const value = marks.plain();
    plains.push(value);
    return value;
  };
  const message = {
    name: plain(),
    reason: next() < 0.5 ? plain() : "",
    oneTimeCode: next() < 0.8 ? marks.canary(`${where}: one_time_code`) : "",
  };
  return { message, plains };
}

const KINDS = ["KIND_UNSPECIFIED", "KIND_PASSWORD", "KIND_API_KEY"] as const;

/** A ts-proto PutSecretRequest: a canary in every sensitive field that is set. */
function putRequest(marks: Marks, next: () => number, where: string): Built {
  const plains: string[] = [];
  const plain = () => {
    const value = marks.plain();
    plains.push(value);
    return value;
  };
  const maybe = () => next() < 0.6;
  const secret = (field: string) => marks.canary(`${where}: ${field}`);
  const credential = (path: string) => ({
    username: plain(),
    password: maybe() ? secret(`${path}.password`) : "",
    recoveryCodes: maybe() ? [secret(`${path}.recovery_codes[0]`), secret(`${path}.recovery_codes[1]`)] : [],
    kind: KINDS[Math.floor(next() * KINDS.length)],
  });
  const hostKey = marks.plain(); // a map key: kept, as the map is not sensitive
  // Only the oneof member chosen is built: the markers of the others must not be expected.
  const sources = [
    () => ({ $case: "inlineText", value: secret("source.inline_text (oneof)") }),
    () => ({ $case: "vaultPath", value: plain() }),
    () => ({ $case: "generated", value: credential("source.generated (oneof)") }),
    () => undefined,
  ];
  const message = {
    name: plain(),
    value: maybe() ? secret("value") : "",
    owner: maybe()
      ? {
          id: plain(),
          email: secret("owner.email (debug_redact)"),
          credential: maybe() ? credential("owner.credential") : undefined,
        }
      : undefined,
    credentials: Array.from({ length: Math.floor(next() * 3) }, (_, i) => credential(`credentials[${i}]`)),
    labels: maybe() ? { team: plain() } : {},
    env: maybe() ? { [secret("env (map key)")]: secret("env (map value)") } : {},
    byHost: maybe() ? { [hostKey]: credential("by_host{}") } : {},
    source: sources[Math.floor(next() * sources.length)]?.(),
    version: maybe() ? Math.floor(next() * 2 ** 40) : 0,
    size: 0,
    delta: maybe() ? -Math.floor(next() * 1000) : 0,
    checksum: 0,
    ratio: maybe() ? next() : 0,
    weight: 0,
    pinned: maybe(),
    blob: maybe() ? Buffer.from(secret("blob (bytes)")) : Buffer.alloc(0),
    salt: maybe() ? Buffer.from([1, 2, 3, Math.floor(next() * 256)]) : Buffer.alloc(0),
    comment: maybe() ? plain() : undefined,
    ports: maybe() ? [443, Math.floor(next() * 65536)] : [],
    kinds: maybe() ? ["KIND_PASSWORD"] : [],
    expiresAt: maybe() ? new Date(1_800_000_000_000 + Math.floor(next() * 1e9)) : undefined,
    ttl: maybe() ? { seconds: Math.floor(next() * 86_400), nanos: 0 } : undefined,
    note: maybe() ? plain() : undefined,
    aliases: [],
    chunks: [],
  };
  if (Object.keys(message.byHost).length > 0) plains.push(hostKey);
  return { message, plains };
}
