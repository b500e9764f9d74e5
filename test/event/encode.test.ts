import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { canonicalBytes } from "../../src/chain/canonical.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import {
  type ActorType,
  AuditEvent,
  AuditEvent_AttributesEntry,
  type DeepPartial,
  type EventType,
} from "../../src/gen/grpcaudit/v1/event.js";
import { DETAIL_CASES, event, Random, STRINGS } from "./generate-event.js";

// encodeEvent is written by hand for speed. These tests hold it to ts-proto's AuditEvent.encode, byte
// for byte, with the attributes put in UTF-8 byte order of their keys (the canonical form, which
// ts-proto does not sort): same bytes for what it accepts, an error of the same kind where it throws.

/** ts-proto's bytes with the attributes sorted: fields 1-17, the entries in key order, the instance and detail. */
function reference(message: AuditEvent): Uint8Array {
  const writer = AuditEvent.encode(
    { ...message, attributes: {}, instance: "", detail: undefined },
    new BinaryWriter(),
  );
  const keys = Object.keys(message.attributes)
    .map((key) => ({ key, bytes: Buffer.from(key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (const { key } of keys) {
    const value = message.attributes[key] ?? "";
    AuditEvent_AttributesEntry.encode({ key, value }, writer.uint32((18 << 3) | 2).fork()).join();
  }
  const detailOnly = AuditEvent.fromPartial({});
  detailOnly.instance = message.instance;
  detailOnly.detail = message.detail;
  return AuditEvent.encode(detailOnly, writer).finish();
}

type Outcome = { hex: string } | { error: string };

/**
 * What an encoder does with the event: its bytes in hex (compared as one string: vitest compares
 * arrays element by element, far too slowly for 100 kB events), or the class and message of its throw.
 */
function outcome(encode: (message: AuditEvent) => Uint8Array, message: AuditEvent): Outcome {
  try {
    return { hex: Buffer.from(encode(message)).toString("hex") };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** Strings each taking a different path: ASCII and not, 1- and 2-byte lengths, lone surrogates. */
const EXOTIC = [
  ...STRINGS,
  "ß",
  "日本語",
  "👩‍👩‍👧‍👦 family",
  "\uD800", // a lone high surrogate: both write U+FFFD
  "a\uDC00b", // a lone low surrogate
  "\uDBFF\uDFFF", // U+10FFFF
  "\uFFFF",
  "x".repeat(42), // the last length the short-string path takes
  "é".repeat(42), // 84 bytes, through the short path's fallback
  "x".repeat(43),
  "x".repeat(127),
  "x".repeat(128),
  "é".repeat(50), // 100 bytes: the ASCII guess of a 1-byte length holds
  "é".repeat(70), // 140 bytes: the guess of a 1-byte length is wrong
  "😀".repeat(40), // 160 bytes
  "x".repeat(16_383),
  "x".repeat(16_384), // 3-byte length
];
const HUGE = ["ü".repeat(70_000), "y".repeat(200_000)];

describe("encodeEvent against ts-proto's AuditEvent.encode", () => {
  it("writes the same bytes for 10,000 generated events with multi-byte, emoji and lone-surrogate strings", () => {
    const r = new Random(15, EXOTIC);
    for (let i = 0; i < 10_000; i++) {
      const generated = event(r, r.pick([0, 0.1, 0.5, 0.9, 1]));
      expect(outcome(encodeEvent, generated), `event ${i}`).toStrictEqual(outcome(reference, generated));
    }
  });

  it.each(DETAIL_CASES)("writes the same bytes for %s events with every field set", (only) => {
    const r = new Random(16, EXOTIC);
    for (let i = 0; i < 200; i++) {
      const generated = event(r, 0, only);
      expect(outcome(encodeEvent, generated), `event ${i}`).toStrictEqual(outcome(reference, generated));
    }
  });

  it("writes the same bytes for events with huge strings, and for small events after them", () => {
    const r = new Random(17, [...STRINGS, ...HUGE]);
    for (let i = 0; i < 40; i++) {
      const generated = event(r, 0.3);
      expect(outcome(encodeEvent, generated), `event ${i}`).toStrictEqual(outcome(reference, generated));
      const small = event(new Random(i), 0.5);
      expect(outcome(encodeEvent, small), `small event ${i}`).toStrictEqual(outcome(reference, small));
    }
  });

  it("sorts attributes by key in UTF-8 byte order, whatever order the object has them in", () => {
    const keys = ["b", "a", "10", "2", "", "é", "😀", "\uFFFF", "\uE000", "Z", "ab"];
    const attributes = Object.fromEntries(keys.map((key, i) => [key, `v${i}`]));
    const message = AuditEvent.fromPartial({ attributes });
    const bytes = encodeEvent(message);
    expect(bytes).toStrictEqual(reference(message));
    // UTF-16 order would put "😀" (U+D83D…) before U+E000 and U+FFFF; UTF-8 puts it after them.
    expect(keysInWireOrder(bytes)).toStrictEqual([
      "",
      "10",
      "2",
      "Z",
      "a",
      "ab",
      "b",
      "é",
      "\uE000",
      "\uFFFF",
      "😀",
    ]);
    expect(decodeEvent(bytes)).toStrictEqual(message);
  });

  it("writes an empty nested message as a zero length, and leaves an absent one out", () => {
    const empty = AuditEvent.fromPartial({
      actor: {},
      target: {},
      result: {},
      duration: {},
      chain: {},
      payload: {},
      attributes: { "": "" },
      detail: { $case: "tupleChange", value: { tuples: [{}] } },
    });
    expect(encodeEvent(empty)).toStrictEqual(AuditEvent.encode(empty).finish());
    expect(encodeEvent(AuditEvent.fromPartial({}))).toStrictEqual(new Uint8Array(0));
  });
});

/** The attribute keys in the order the bytes hold them. */
function keysInWireOrder(bytes: Uint8Array): string[] {
  const keys: string[] = [];
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 18) keys.push(AuditEvent_AttributesEntry.decode(reader.bytes()).key);
    else reader.skip(wireType);
  }
  return keys;
}

type Case = [string, DeepPartial<AuditEvent>];

/** One case per value, named after the field. */
function each(name: string, values: number[], partial: (n: number) => DeepPartial<AuditEvent>): Case[] {
  return values.map((n) => [`${name} ${n}`, partial(n)]);
}

describe("encodeEvent's numbers, times and enums", () => {
  // 2 ** 64 is beyond uint64 itself: both encoders refuse it (values above 2^53 - 1: see below).
  const wide = [2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 64];
  const bad = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0];
  const cases: Case[] = [
    ...each("schemaVersion", [4_294_967_295, ...wide, ...bad], (n) => ({ schemaVersion: n })),
    ...each("chain.seq", [...wide, ...bad], (n) => ({ chain: { seq: n } })),
    ...each("checkpoint.headSeq", [...wide, ...bad], (n) => ({
      detail: { $case: "checkpoint", value: { headSeq: n } },
    })),
    ...each("payload.requestCount", [2 ** 32, ...bad], (n) => ({ payload: { requestCount: n } })),
    ...each(
      "duration.seconds",
      [-1, -(2 ** 40), 2 ** 40, -Number.MAX_SAFE_INTEGER, 2 ** 63, 1e20, ...bad],
      (n) => ({
        duration: { seconds: n },
      }),
    ),
    ...each("duration.nanos", [-1, -999_999_999, 2 ** 31, -(2 ** 31), ...bad], (n) => ({
      duration: { nanos: n },
    })),
    ...each("occurredAt", [-1, -1500, -8.64e15, 8.64e15, 0, Number.NaN], (ms) => ({
      occurredAt: new Date(ms),
    })),
    ["eventType UNRECOGNIZED", { eventType: "UNRECOGNIZED" as EventType }],
    ["actor.type unknown", { actor: { type: "ACTOR_TYPE_ROBOT" as ActorType } }],
  ];

  it.each(cases)("%s: the same bytes, or the same error", (_, partial) => {
    const message = AuditEvent.fromPartial(partial);
    expect(outcome(encodeEvent, message)).toStrictEqual(
      outcome((m) => AuditEvent.encode(m).finish(), message),
    );
  });

  // 2 ** 64 - 2048 is the largest double below 2^64.
  const unreadable: Case[] = [
    ...each("chain.seq", [2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64 - 2048], (n) => ({ chain: { seq: n } })),
    ...each("checkpoint.headSeq", [2 ** 53 + 2, 2 ** 64 - 2048], (n) => ({
      detail: { $case: "checkpoint", value: { headSeq: n } },
    })),
    ...each("duration.seconds", [2 ** 53, -(2 ** 53), -(2 ** 63)], (n) => ({ duration: { seconds: n } })),
  ];

  it.each(unreadable)(
    "%s: refused, though ts-proto writes it, as no reader could read it back",
    (_, partial) => {
      const message = AuditEvent.fromPartial(partial);
      const written = AuditEvent.encode(message).finish();
      expect(() => AuditEvent.decode(written)).toThrow(/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/);
      expect(() => encodeEvent(message)).toThrow(
        /is beyond 2\^53 - 1, where no reader of the event could read it$/,
      );
    },
  );

  it("throws where ts-proto throws, and encodes the next event right after", () => {
    const long = "é".repeat(1000);
    const broken = AuditEvent.fromPartial({ service: long, chain: { chainId: long, seq: -1 } });
    expect(() => encodeEvent(broken)).toThrow("invalid uint64: -1");
    expect(() => encodeEvent(AuditEvent.fromPartial({ schemaVersion: 2.5 }))).toThrow("invalid uint32: 2.5");
    expect(() => encodeEvent(AuditEvent.fromPartial({ occurredAt: new Date(Number.NaN) }))).toThrow(
      RangeError,
    );
    const next = AuditEvent.fromPartial({ service: "projects", chain: { seq: 1 } });
    expect(encodeEvent(next)).toStrictEqual(AuditEvent.encode(next).finish());
  });
});

describe("encodeEvent's bytes", () => {
  it("decode to the event ts-proto's bytes decode to, and encode again to the same bytes", () => {
    const r = new Random(18, EXOTIC);
    for (let i = 0; i < 2_000; i++) {
      const generated = event(r, r.pick([0, 0.5]));
      const expected = outcome(reference, generated);
      if ("error" in expected) continue;
      const bytes = encodeEvent(generated);
      const decoded = decodeEvent(bytes);
      expect(decoded, `event ${i}`).toStrictEqual(AuditEvent.decode(reference(generated)));
      expect(Buffer.from(encodeEvent(decoded)).equals(bytes), `event ${i}`).toBe(true);
    }
  });

  it("are a plain Uint8Array of their own, unchanged by the encodes and chain hashes after", () => {
    // Events are handed out as views of a shared slab: an encode or hash after must never write over
    // them, also when a message outgrows the slab midway.
    const r = new Random(20, EXOTIC);
    const kept: [AuditEvent, Uint8Array][] = [];
    for (let i = 0; i < 3_000; i++) {
      const generated = event(r, r.pick([0, 0.5, 0.9]));
      if ("error" in outcome(reference, generated)) continue;
      kept.push([generated, encodeEvent(generated)]);
      if (r.chance(0.3)) outcome(canonicalBytes, event(r, 0.5)); // written after them, or thrown midway
    }
    for (const [i, [generated, bytes]] of kept.entries()) {
      expect(Object.getPrototypeOf(bytes), `event ${i}`).toBe(Uint8Array.prototype);
      expect(Buffer.from(bytes).equals(reference(generated)), `event ${i}`).toBe(true);
    }
  });
});

describe("canonicalBytes", () => {
  it("leaves chain.hash out, without changing the event", () => {
    const r = new Random(19, EXOTIC);
    for (let i = 0; i < 500; i++) {
      const generated = event(r, 0.2);
      if ("error" in outcome(reference, generated)) continue;
      const before = structuredClone(generated);
      const hashless = { ...generated, chain: generated.chain && { ...generated.chain, hash: "" } };
      const bytes = canonicalBytes(generated);
      expect(Buffer.from(bytes).equals(reference(hashless)), `event ${i}`).toBe(true);
      expect(generated).toStrictEqual(before);
    }
  });
});
