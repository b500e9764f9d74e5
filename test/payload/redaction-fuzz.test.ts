import { describe, expect, it } from "vitest";
import { encodeCanonical, type PayloadProblems, redactToJson } from "../../src/payload/index.js";
import { type Credential, Kind, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { CANARY, PROTO_LOADER_VARIANTS, protoLoaderDecoder } from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

/** mulberry32: a seeded generator, so a failure names a message that can be made again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The i-th fuzz message: a ts-proto PutSecretRequest whose fields are each set or not at random, a
 * canary in every sensitive field that is set, and the plain strings that must survive redaction.
 */
function fuzzMessage(i: number): { message: PutSecretRequest; plain: string[] } {
  const next = random(i + 1);
  const maybe = () => next() < 0.6;
  const canary = `${CANARY}-${i}`;
  const plain: string[] = [];
  const word = (prefix: string) => {
    const value = `${prefix}${i}x${Math.floor(next() * 1e6)}`;
    plain.push(value);
    return value;
  };
  const credential = (): Credential => ({
    username: word("user"),
    password: maybe() ? canary : "",
    recoveryCodes: maybe() ? [canary, `${canary}-2`] : [],
    kind: maybe() ? Kind.KIND_API_KEY : Kind.KIND_UNSPECIFIED,
  });
  // Built only for the member chosen: the plain values of the others must not be expected.
  const sources: (() => PutSecretRequest["source"])[] = [
    () => ({ $case: "inlineText", value: canary }),
    () => ({ $case: "vaultPath", value: word("path") }),
    () => ({ $case: "generated", value: credential() }),
    () => undefined,
  ];
  const message: PutSecretRequest = {
    name: maybe() ? word("name") : "",
    value: maybe() ? canary : "",
    owner: maybe()
      ? { id: word("owner"), email: `${canary}@x`, credential: maybe() ? credential() : undefined }
      : undefined,
    credentials: maybe() ? [credential(), credential()] : [],
    labels: maybe() ? { [`k${i}`]: word("label") } : {},
    env: maybe() ? { [`${canary}-key`]: canary } : {},
    byHost: maybe() ? { [`host${i}`]: credential() } : {},
    source: sources[Math.floor(next() * sources.length)]?.(),
    version: maybe() ? Math.floor(next() * 2 ** 40) : 0,
    size: 0,
    delta: maybe() ? -Math.floor(next() * 1000) : 0,
    checksum: 0,
    ratio: maybe() ? next() : 0,
    weight: 0,
    pinned: maybe(),
    blob: maybe() ? Buffer.from(canary) : Buffer.alloc(0),
    salt: Buffer.alloc(0),
    ports: maybe() ? [1, 2, 3] : [],
    kinds: [],
    comment: maybe() ? word("comment") : undefined,
    note: maybe() ? word("note") : undefined,
    aliases: maybe() ? [word("alias"), word("alias")] : [],
    chunks: maybe() ? [Buffer.from([i & 0xff]), Buffer.alloc(0)] : [],
  };
  return { message, plain };
}

const variants = Object.values(PROTO_LOADER_VARIANTS).map(protoLoaderDecoder);

describe("a canary in every sensitive field shape, 1,000 generated messages", () => {
  it("never reaches the JSON or the canonical bytes; every plain value reaches the JSON", () => {
    for (let i = 0; i < 1000; i++) {
      const { message, plain } = fuzzMessage(i);
      const decoded = variants[i % variants.length]?.(PutSecretRequest.encode(message).finish());
      const problems: PayloadProblems = { count: 0, first: [] };
      const canonical = Buffer.from(encodeCanonical(PutSecretRequestShape, message, problems));
      for (const form of [message, decoded]) {
        const json = JSON.stringify(redactToJson(PutSecretRequestShape, form, problems));
        expect(json.includes(CANARY), `message ${i}`).toBe(false);
        for (const value of plain) expect(json.includes(value), `message ${i}: ${value}`).toBe(true);
        const bytes = Buffer.from(encodeCanonical(PutSecretRequestShape, form, problems));
        expect(bytes.includes(CANARY), `message ${i}`).toBe(false);
        expect(bytes.equals(canonical), `message ${i}: bytes differ between loaders`).toBe(true);
      }
      expect(problems.count, `message ${i}`).toBe(0);
    }
  });
});
