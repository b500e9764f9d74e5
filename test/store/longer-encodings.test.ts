// Review R113: a row longer than its event's canonical encoding, with no unknown field, was `modified`
// ("2 bytes more than it (a field written twice, ...)"), so an event another conformant producer wrote
// and an ingester stored as it came failed `verify` (exit 9) and was left out of `tail`. Valid protobuf
// encodings of the same event can be longer: a map entry with its empty value written (Go's encoder
// writes both key and value), explicit default values, over-long varints. They now verify; fields
// the schema does not know are still `modified`. A value written twice (the decoder keeps the last,
// which the hash covers) is not told from a valid encoding: docs/evidence.md names that limit. The
// schema has no repeated scalar field, so there is no packed or unpacked form to vary; repeated
// entries written apart are here instead.
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { expect, it } from "vitest";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type Field, fields, hex, readStore, storeWith } from "./edited-rows.js";

/** Each event's attributes: one empty (the review's `note: ""`). */
const ATTRIBUTES = { note: "", b: "x" };

const varint = (value: number) => new BinaryWriter().uint32(value).finish();

/** A length-delimited field. */
function field(number: number, content: Uint8Array | string): Buffer {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

/** `bytes` with `edit` applied to each of their fields (returning the bytes to write instead). */
function rewrite(bytes: Uint8Array, edit: (field: Field) => Uint8Array): Buffer {
  return Buffer.concat(fields(bytes).map(edit));
}

/** Field `number`'s content with `before` and `after` added around it; other fields as they are. */
function inside(number: number, before: string, after = "") {
  return (f: Field): Uint8Array =>
    f.number === number ? field(number, Buffer.concat([hex(before), f.content, hex(after)])) : f.whole;
}

/** Each attribute entry as Go's encoder writes it: key and value both, even an empty one. */
function goEntries(f: Field): Uint8Array {
  if (f.number !== 18) return f.whole;
  const entry = new Map(fields(f.content).map((e) => [e.number, e.content]));
  return field(18, Buffer.concat([field(1, entry.get(1) ?? ""), field(2, entry.get(2) ?? "")]));
}

/** Valid other encodings of the event of `bytes`, each longer than the canonical one but for `apart`. */
const VALID = {
  goMapEntries: (bytes: Uint8Array) => rewrite(bytes, goEntries),
  // operation and peer "" at the end; the target's name and the result's message "" in their messages
  explicitDefaults: (bytes: Uint8Array) =>
    Buffer.concat([
      rewrite(bytes, (f) => inside(f.number === 8 ? 8 : 9, "", "1a 00")(f)),
      hex("32 00 6a 00"),
    ]),
  overLongVarints: (bytes: Uint8Array) =>
    rewrite(bytes, (f) => {
      // schema_version 2 in three bytes; the target's length in two (127 at most, so one normally)
      if (f.number === 3) return hex("18 82 80 00");
      if (f.number === 8)
        return Buffer.concat([hex("42"), Buffer.from([f.content.length | 0x80, 0]), f.content]);
      return f.whole;
    }),
  // the attribute entries apart: the first before every other field, the rest after
  apart: (bytes: Uint8Array) => {
    const all = fields(bytes);
    const entries = all.filter((f) => f.number === 18).map((f) => f.whole);
    const others = all.filter((f) => f.number !== 18).map((f) => f.whole);
    return Buffer.concat([...entries.slice(0, 1), ...others, ...entries.slice(1)]);
  },
};

it("verifies rows of valid longer encodings of their events, and tail and query show them", async () => {
  const variants = Object.values(VALID);
  const { path, trail } = await storeWith(
    ATTRIBUTES,
    new Map(variants.map((variant, i) => [i + 1, (event: AuditEvent) => variant(encodeEvent(event))])),
  );
  expect(trail[0]?.attributes).toStrictEqual({ b: "x", note: "" });
  for (const [i, variant] of variants.entries()) {
    const event = trail[i] as AuditEvent;
    expect(decodeEvent(variant(encodeEvent(event)))).toStrictEqual(decodeEvent(encodeEvent(event)));
  }
  // Each but the one with entries apart is longer than the canonical encoding (the review's 115 vs 113).
  expect(
    variants.map(
      (variant, i) =>
        variant(encodeEvent(trail[i] as AuditEvent)).length - encodeEvent(trail[i] as AuditEvent).length,
    ),
  ).toStrictEqual([2, 8, 3, 0]);
  const { tally, findings, tail, queried } = await readStore(path);
  expect(tally.unreadable).toStrictEqual([]);
  expect(findings).toStrictEqual([[]]);
  expect(tail.undecodable).toBeUndefined();
  expect(tail.events).toStrictEqual(trail.map((event) => decodeEvent(encodeEvent(event))));
  expect(queried.events.map((e) => e.eventId)).toStrictEqual(trail.map((e) => e.eventId).reverse());
});

it("still names an unknown field among rows of valid longer encodings; a value written twice verifies as its last", async () => {
  const edits = new Map<number, (event: AuditEvent) => Uint8Array>([
    [1, (event) => VALID.goMapEntries(encodeEvent(event))],
    // Go's entries, and field 127 = 1, which the schema does not know
    [2, (event) => Buffer.concat([VALID.goMapEntries(encodeEvent(event)), hex("f8 07 01")])],
    // The target's id written twice: every decoder keeps the last, which the hash covers
    [3, (event) => rewrite(encodeEvent(event), inside(8, "12 04 65 76 69 6c"))],
    // An authz detail (field 21) before the resource mutation (23) of the same oneof: the last is kept
    [4, (event) => Buffer.concat([field(21, field(1, "evil")), encodeEvent(event)])],
    [5, (event) => VALID.overLongVarints(VALID.explicitDefaults(encodeEvent(event)))],
  ]);
  const { path, trail } = await storeWith(ATTRIBUTES, edits);
  const { tally, findings, tail, queried } = await readStore(path);
  const at = (seq: number) => `row ${seq} (event ${trail[seq - 1]?.eventId})`;
  expect(tally.unreadable).toStrictEqual([
    {
      where: at(2),
      reason: "its stored bytes are not its event's encoding: 3 bytes the event schema does not know",
    },
  ]);
  expect(findings).toStrictEqual([[["missing", "seq 2 is missing"]]]);
  expect(tail.events.map((e) => e.eventId)).toStrictEqual(
    [1, 3, 4, 5, 6, 7, 8].map((seq) => trail[seq - 1]?.eventId),
  );
  // query reads every event, as before (it does not check the bytes)
  expect(queried.events.map((e) => e.eventId)).toStrictEqual(trail.map((e) => e.eventId).reverse());
});
