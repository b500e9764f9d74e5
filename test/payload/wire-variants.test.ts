/**
 * Digests are of the message, not of the bytes it arrived as: wire encodings protobuf parsers take as
 * the same message (fields in another order, repeated scalars unpacked, fields written at their
 * default, a scalar written twice of which the last counts) give the same digest and the same JSON,
 * decoded by ts-proto or by any of the proto-loader variants.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  encodeCanonical,
  type PayloadProblems,
  payloadDigest,
  redactToJson,
} from "../../src/payload/index.js";
import { Kind, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { PROTO_LOADER_VARIANTS, protoLoaderDecoder, putSecretRequest } from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

const SECRET = new Uint8Array(32).fill(9);

/** putSecretRequest() with a few fields at their default, so that they can be written explicitly. */
const message: PutSecretRequest = { ...putSecretRequest(), delta: 0, checksum: 0, weight: 0, pinned: false };

/** The message's fields one record each (ts-proto's bytes of the message with only that field set). */
function fieldRecords(): Uint8Array[] {
  const empty = PutSecretRequest.fromPartial({});
  return (Object.keys(message) as (keyof PutSecretRequest)[])
    .map((key) => PutSecretRequest.encode({ ...empty, [key]: message[key] }).finish())
    .filter((bytes) => bytes.length > 0);
}

const KIND_NUMBERS: Record<Kind, number> = {
  [Kind.KIND_UNSPECIFIED]: 0,
  [Kind.KIND_PASSWORD]: 1,
  [Kind.KIND_API_KEY]: 2,
  [Kind.UNRECOGNIZED]: -1,
};

const concat = (parts: readonly Uint8Array[]) => Buffer.concat(parts.map((part) => Buffer.from(part)));

const ENCODINGS: Record<string, () => Uint8Array> = {
  "ts-proto's own": () => PutSecretRequest.encode(message).finish(),
  "fields in reverse order": () => concat(fieldRecords().reverse()),
  "repeated scalars unpacked": () => {
    const { ports, kinds, ...rest } = message;
    const writer = new BinaryWriter();
    for (const port of ports) writer.tag(21, WireType.Varint).int32(port);
    // ts-proto's string enums, written as their numbers.
    for (const kind of kinds) writer.tag(22, WireType.Varint).int32(KIND_NUMBERS[kind]);
    return concat([PutSecretRequest.encode({ ...rest, ports: [], kinds: [] }).finish(), writer.finish()]);
  },
  "fields written at their default": () => {
    const writer = new BinaryWriter();
    writer.tag(13, WireType.Varint).sint32(0);
    writer.tag(14, WireType.Bit64).fixed64(0);
    writer.tag(16, WireType.Bit32).float(0);
    writer.tag(17, WireType.Varint).bool(false);
    return concat([writer.finish(), PutSecretRequest.encode(message).finish()]);
  },
  "a scalar written twice, the last one counting": () => {
    const first = PutSecretRequest.encode({ ...PutSecretRequest.fromPartial({}), name: "old", version: 7 });
    return concat([first.finish(), PutSecretRequest.encode(message).finish()]);
  },
};

const decoders: Record<string, (bytes: Uint8Array) => unknown> = {
  "ts-proto": (bytes) => PutSecretRequest.decode(bytes),
  ...Object.fromEntries(
    Object.entries(PROTO_LOADER_VARIANTS).map(([name, options]) => [name, protoLoaderDecoder(options)]),
  ),
};

describe("one message, several wire encodings, several loaders", () => {
  const digest = payloadDigest(PutSecretRequestShape, [message], SECRET);
  const json = JSON.stringify(redactToJson(PutSecretRequestShape, message));

  it.each(Object.keys(ENCODINGS))("%s: the same digest and JSON under every loader", (encoding) => {
    const bytes = ENCODINGS[encoding]?.() ?? new Uint8Array();
    expect(Buffer.from(bytes).equals(Buffer.from(PutSecretRequest.encode(message).finish()))).toBe(
      encoding === "ts-proto's own",
    );
    for (const [loader, decode] of Object.entries(decoders)) {
      const problems: PayloadProblems = { count: 0, first: [] };
      const decoded = decode(bytes);
      expect(payloadDigest(PutSecretRequestShape, [decoded], SECRET, problems), loader).toBe(digest);
      expect(JSON.stringify(redactToJson(PutSecretRequestShape, decoded, problems)), loader).toBe(json);
      expect(problems, loader).toStrictEqual({ count: 0, first: [] });
    }
  });

  it("gives another digest for another message", () => {
    const other = PutSecretRequest.encode({ ...message, ports: [443, 0, -1] }).finish();
    for (const [loader, decode] of Object.entries(decoders)) {
      expect(payloadDigest(PutSecretRequestShape, [decode(other)], SECRET), loader).not.toBe(digest);
    }
  });
});

describe("a oneof written twice on the wire, its sensitive member last", () => {
  // Protobuf keeps the last member written: the oneof holds inline_text (sensitive), as ts-proto
  // decodes it. protobuf.js (proto-loader) keeps both members set, and does not say which came last.
  const writer = new BinaryWriter();
  writer.tag(9, WireType.LengthDelimited).string("kv/decoy");
  writer.tag(8, WireType.LengthDelimited).string("inline secret");
  const bytes = writer.finish();

  it("is left out whole under every loader, as ts-proto's object gives it", () => {
    const tsProto = PutSecretRequest.decode(bytes);
    expect(tsProto.source).toStrictEqual({ $case: "inlineText", value: "inline secret" });
    const digest = payloadDigest(PutSecretRequestShape, [tsProto], SECRET);
    for (const [loader, decode] of Object.entries(decoders)) {
      const problems: PayloadProblems = { count: 0, first: [] };
      const decoded = decode(bytes);
      expect(redactToJson(PutSecretRequestShape, decoded, problems), loader).toStrictEqual({});
      expect(payloadDigest(PutSecretRequestShape, [decoded], SECRET), loader).toBe(digest);
      if (loader !== "ts-proto") {
        expect(problems.first, loader).toStrictEqual([
          "vault_path: oneof source left out: its sensitive member inline_text is set too",
        ]);
      }
    }
  });
});

describe("a Timestamp before 1970, as ts-proto writes a Date (negative nanos)", () => {
  // ts-proto writes 1969-07-20T20:17:40.250Z as seconds -14182939 and nanos -750000000, proto-loader
  // passes those on, ts-proto decodes them into the Date again: one instant, one digest.
  const moon = {
    ...PutSecretRequest.fromPartial({ name: "moon" }),
    expiresAt: new Date("1969-07-20T20:17:40.250Z"),
  };
  const bytes = PutSecretRequest.encode(moon).finish();
  // The same instant with nanos in [0, 1e9), as a valid Timestamp holds it.
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).string("moon");
  writer.tag(23, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(-14182940);
  writer.tag(2, WireType.Varint).int32(250_000_000).join();
  const valid = writer.finish();

  it("gives the same digest and JSON under every loader, those of the valid Timestamp", () => {
    expect(PutSecretRequest.decode(bytes).expiresAt).toStrictEqual(moon.expiresAt);
    expect(Buffer.from(bytes).equals(Buffer.from(valid))).toBe(false);
    const digest = payloadDigest(PutSecretRequestShape, [moon], SECRET);
    expect(encodeCanonical(PutSecretRequestShape, moon)).toStrictEqual(valid);
    for (const [loader, decode] of Object.entries(decoders)) {
      const problems: PayloadProblems = { count: 0, first: [] };
      const decoded = decode(bytes);
      expect(payloadDigest(PutSecretRequestShape, [decoded], SECRET, problems), loader).toBe(digest);
      expect(redactToJson(PutSecretRequestShape, decoded, problems), loader).toStrictEqual({
        name: "moon",
        expiresAt: "1969-07-20T20:17:40.250Z",
      });
      expect(problems, loader).toStrictEqual({ count: 0, first: [] });
    }
  });

  it("a Timestamp of nanos beyond a second is the instant they add up to", () => {
    for (const [seconds, nanos] of [
      [-14182941, 1_250_000_000],
      [-14182939, -750_000_000],
      ["-14182939", -750_000_000],
    ] as const) {
      const message = { name: "moon", expiresAt: { seconds, nanos } };
      expect(encodeCanonical(PutSecretRequestShape, message), `${seconds} ${nanos}`).toStrictEqual(valid);
    }
    // Nanos that make a whole second leave both parts at zero, which are not written.
    const empty = encodeCanonical(PutSecretRequestShape, { expiresAt: { seconds: 1, nanos: -1e9 } });
    expect(Buffer.from(empty).toString("hex")).toBe("ba0100");
  });
});
