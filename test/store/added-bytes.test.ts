// Review R107: bytes added to a stored event went unseen by verify. The decoder drops a field the
// schema does not know, and the chain hash is taken over the event's canonical encoding, so
// `UPDATE events SET event = event || x'f80601'` left the hash matching and verify reported nothing.
// Such a row is now `modified`, named with how many bytes; rows of another legitimate encoding of the
// same event (an earlier version's attribute order, another producer's field order) still verify, and
// so does a value written twice, read as its last (docs/evidence.md names that limit).
import { expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type Field, fields, hex, readStore, storeWith } from "./edited-rows.js";

/**
 * Attributes whose canonical order ("10", "2", "__proto__", "b") is not the order JavaScript lists them
 * in, one of them an own "__proto__" entry (which ts-proto's decoder would lose: decodeEvent keeps it).
 */
const ATTRIBUTES: Record<string, string> = JSON.parse('{"b": "x", "10": "y", "2": "z", "__proto__": "p"}');

/** The tag of AuditEvent.target (field 8, length-delimited). */
const TARGET_TAG = 66;

/** Adds `added` at the end of the `tag` message, its length grown to match. */
function withAdded(tag: number, added: string) {
  const bytes = hex(added);
  return ({ whole: field }: Field): Uint8Array => {
    const length = field[1] ?? 128;
    if (field[0] !== tag || length + bytes.length > 127) return field; // a one-byte length, still one
    return Buffer.concat([Buffer.from([tag, length + bytes.length]), field.subarray(2), bytes]);
  };
}

it("reports a row with an unknown field appended in place (R107's UPDATE) as modified; query still shows it", async () => {
  const { path, trail } = await storeWith(
    ATTRIBUTES,
    new Map(),
    "UPDATE events SET event = CAST(event || x'f80601' AS BLOB) WHERE seq = 6",
  );
  const { tally, findings, queried } = await readStore(path);
  expect(tally.unreadable).toStrictEqual([
    {
      where: `row 6 (event ${trail[5]?.eventId})`,
      reason: "its stored bytes are not its event's encoding: 3 bytes the event schema does not know",
    },
  ]);
  expect(findings).toStrictEqual([[["missing", "seq 6 is missing"]]]);
  // query reads the event as before (it does not check the bytes, as it does not check the columns)
  expect(queried.events.map((e) => e.eventId)).toStrictEqual(trail.map((e) => e.eventId).reverse());
});

it("names each kind of added bytes, and verifies rows of another encoding of the same event", async () => {
  const edits = new Map<number, (event: AuditEvent) => Uint8Array>([
    // An earlier version's encoder (ts-proto's): the attributes as JavaScript lists them, "2" first.
    [1, (event) => AuditEvent.encode(event).finish()],
    // Another producer's: the same fields in reverse order.
    [
      2,
      (event) =>
        Buffer.concat(
          fields(encodeEvent(event))
            .map((f) => f.whole)
            .reverse(),
        ),
    ],
    // Tag 0 ends the message for the decoder: what follows it is never read.
    [3, (event) => Buffer.concat([encodeEvent(event), hex("00 0a 04 65 76 69 6c")])],
    // Inside the target: field 21 = 1, which Target does not have.
    [4, (event) => Buffer.concat(fields(encodeEvent(event)).map(withAdded(TARGET_TAG, "a8 01 01")))],
    // A service written twice: every decoder keeps the last, which the hash covers (not told apart).
    [5, (event) => Buffer.concat([hex("2a 04 65 76 69 6c"), encodeEvent(event)])],
    // Inside the target: tag 0, where its decoder stops (the event's reads on from there).
    [6, (event) => Buffer.concat(fields(encodeEvent(event)).map(withAdded(TARGET_TAG, "00")))],
  ]);
  const { path, trail } = await storeWith(ATTRIBUTES, edits);
  expect(Object.keys(trail[0]?.attributes ?? {}).sort()).toStrictEqual(["10", "2", "__proto__", "b"]);
  const { tally, findings } = await readStore(path);
  const at = (seq: number) => `row ${seq} (event ${trail[seq - 1]?.eventId})`;
  const notItsEncoding = "its stored bytes are not its event's encoding";
  expect(tally.unreadable).toStrictEqual([
    { where: at(3), reason: `${notItsEncoding}: 7 bytes the event schema does not know` },
    { where: at(4), reason: `${notItsEncoding}: 3 bytes the event schema does not know` },
    { where: at(6), reason: `${notItsEncoding}: 1 byte the event schema does not know` },
  ]);
  // Like every row whose event is not read back, theirs are skipped: the chain misses them.
  expect(findings).toStrictEqual([
    [
      ["missing", "seqs 3 to 4 are missing"],
      ["missing", "seq 6 is missing"],
    ],
  ]);
});
