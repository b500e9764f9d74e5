import { BinaryReader, BinaryWriter, type WireType } from "@bufbuild/protobuf/wire";
import { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { encodeEventView } from "./encode.js";
import { decodeEvent } from "./serialize.js";

/**
 * How many bytes of an encoded event the generated decoder reads past without keeping anything of
 * them: fields the schema does not know (or known ones with another wire type), at any depth, and the
 * tags that end a message early (tag 0 or an end-group tag), with whatever follows one at the top.
 * `decodeEvent` gives the same event with or without them, and so does the chain hash, which is taken
 * over the event's canonical encoding: bytes added there change the evidence without changing the
 * hash. 0 for any encoder's bytes of this schema (the fields in any order, the attributes too). Throws
 * as `decodeEvent` does for bytes that are not an event.
 * @internal
 */
export function unknownBytes(bytes: Uint8Array): number {
  const reader = new CountingReader(bytes);
  AuditEvent.decode(reader);
  return reader.unknown;
}

/** A message the generated decoders read, where its bytes are in the event's. */
interface DecodedMessage {
  /** Its first byte. */
  start: number;
  /** The byte after its last. */
  end: number;
  /** Where its length prefix starts; -1 for the event itself, which has none. */
  lengthStart: number;
  /** Its field numbers from the event down, such as "8" (the target) or "18.2"; "" for the event. */
  path: string;
  /** The message it is a field of; undefined for the event. */
  parent: DecodedMessage | undefined;
}

/** A reader that counts what the generated decoders skip or stop at, and notes each message they read. */
class CountingReader extends BinaryReader {
  unknown = 0;
  /** Each message the decoder read, the event first, then in the order they start. */
  readonly decoded: DecodedMessage[] = [];
  /** Where the last varint read started: the tag's, when the decoder skips its field. */
  private lastStart = 0;
  /** The last varint read: a nested message's length, when its decoder starts. */
  private lastValue = 0;
  /** The varint read before it: a nested message's tag, when its decoder starts. */
  private previousValue = 0;
  private depth = 0;
  /** Each message being decoded, the outermost first. */
  private readonly messages: DecodedMessage[] = [];

  /** `countStops`: also count what follows a tag that ends a message (false where only `decoded` is read). */
  constructor(
    private readonly input: Uint8Array,
    private readonly countStops = true,
  ) {
    super(input);
    // The reader sets `uint32` on each instance, not on its prototype: wrapped here.
    const read = this.uint32;
    this.uint32 = () => {
      this.lastStart = this.pos;
      this.previousValue = this.lastValue;
      this.lastValue = read.call(this);
      return this.lastValue;
    };
  }

  override skip(wireType: WireType, fieldNo?: number): Uint8Array {
    // The generated decoders skip a field right after reading its tag: count the tag with it.
    const tagStart = this.lastStart;
    const skipped = super.skip(wireType, fieldNo);
    this.unknown += this.pos - tagStart;
    return skipped;
  }

  // ts-proto's decoders keep their nesting depth on the reader (a recursion limit), setting it as each
  // message starts and ends: the one place that sees each message's bytes as the decoder reads them.
  get __tsProtoDecodeDepth(): number {
    return this.depth;
  }

  set __tsProtoDecodeDepth(depth: number) {
    if (depth > this.depth) {
      // A nested message's decoder starts right after its tag and length are read (`X.decode(reader,
      // reader.uint32())`, the tag read just before): the event's starts at the first byte.
      const parent = this.messages.at(-1);
      const message: DecodedMessage =
        parent === undefined
          ? { start: this.pos, end: this.len, lengthStart: -1, path: "", parent }
          : {
              start: this.pos,
              end: this.pos + this.lastValue,
              lengthStart: this.lastStart,
              path: `${parent.path === "" ? "" : `${parent.path}.`}${this.previousValue >>> 3}`,
              parent,
            };
      this.messages.push(message);
      this.decoded.push(message);
    } else {
      const message = this.messages.pop();
      if (message !== undefined && this.countStops)
        this.unknown += stopped(this.input, message, this.messages.length > 0);
    }
    this.depth = depth;
  }
}

/**
 * The bytes of a message its decoder did not read as fields because a tag ended it (tag 0, or an
 * end-group tag, as the generated decoders stop at): the tag, and when it is the outermost message,
 * all that follows (a nested message's decoder leaves the rest to the outer one). 0 if none does.
 */
function stopped(bytes: Uint8Array, { start, end }: { start: number; end: number }, nested: boolean): number {
  const reader = new BinaryReader(bytes.subarray(start, Math.min(end, bytes.length)));
  try {
    while (reader.pos < reader.len) {
      const tagStart = reader.pos;
      const tag = reader.uint32();
      if (tag === 0 || (tag & 7) === 4) return (nested ? reader.pos : reader.len) - tagStart;
      reader.skip(tag & 7);
    }
  } catch {
    // Bytes the decoder read past its end (a field longer than the message holds): not a stop.
  }
  return 0;
}

/**
 * The first field of an encoded event (its field numbers from the event down, such as "5" or "8.2")
 * whose value the generated decoder reads and then replaces with a later one, so that no reader of
 * ours shows it: a singular field written twice (a message field too, which ts-proto's decoders
 * replace rather than merge), a map key written twice, two members of a oneof. Undefined if there is
 * none: an encoder writes a non-repeated field at most once (parsers keep the last, per the protobuf
 * encoding guide), while other valid encodings of the same event (explicit defaults, a map entry
 * with its key and value written, over-long varints, repeated fields or entries apart, any field
 * order) have none.
 *
 * A field is tried when its number comes again later in its message or, with `longer` (the bytes are
 * longer than the event's canonical encoding, which such a field makes them unless another is written
 * shorter than the encoder writes it), when no message at its place in that encoding holds its
 * number (a oneof's other member, or an explicit default). It is named if, taken out, the event does
 * not change, yet its message holding only it reads otherwise than holding nothing (an explicit
 * default changes neither; a oneof member, even an empty message, sets the oneof). Bytes that are
 * not an event, or that hold fields the schema does not know (see `unknownBytes`), may give
 * undefined.
 * @internal
 */
export function overwrittenField(bytes: Uint8Array, longer: boolean): string | undefined {
  let event: Buffer | undefined;
  let known: Map<string, Set<number>> | undefined;
  if (longer) {
    event = canonical(bytes);
    if (event === undefined) return undefined;
    known = numbersByPath(event);
  }
  const reader = new BinaryReader(bytes);
  for (const message of decodedMessages(bytes)) {
    const fields = fieldsOf(reader, message);
    for (const [index, field] of fields.entries()) {
      const later = fields.slice(index + 1).filter((other) => other.number === field.number);
      const absent = known !== undefined && known.get(message.path)?.has(field.number) !== true;
      if (later.length === 0 && !absent) continue;
      const place = `${message.path}:${field.number}`;
      // Of a repeated field (a map's entries too) only one whose key comes again can be replaced.
      if (
        !absent &&
        REPEATED.has(place) &&
        !later.some((other) => keyOf(bytes, other).equals(keyOf(bytes, field)))
      )
        continue;
      event ??= canonical(bytes);
      if (event === undefined) return undefined;
      const without = canonical(splice(bytes, message, field, NOTHING));
      if (without === undefined) continue;
      if (!without.equals(event)) {
        // Taken out before another of its number, it changed the event: the decoder keeps each one.
        if (later.length > 0) REPEATED.add(place);
        continue;
      }
      const only = canonical(splice(bytes, message, message, bytes.subarray(field.start, field.end)));
      const none = canonical(splice(bytes, message, message, NOTHING));
      if (only !== undefined && none !== undefined && !only.equals(none)) {
        return `${message.path === "" ? "" : `${message.path}.`}${field.number}`;
      }
    }
  }
  return undefined;
}

/**
 * The places ("path:number") of fields the decoder keeps every value of (repeated fields, map
 * entries), learned from the decoder as rows are read (the schema does not change while it runs), so
 * that each of their values is not taken out of every row to see that it counts.
 */
const REPEATED = new Set<string>();

/** A repeated field's key: a map entry's key (its last field 1), or the whole value if it has none. */
function keyOf(bytes: Uint8Array, field: { start: number; end: number }): Buffer {
  const whole = Buffer.from(bytes.buffer, bytes.byteOffset + field.start, field.end - field.start);
  try {
    const reader = new BinaryReader(whole);
    if ((reader.uint32() & 7) !== 2) return whole;
    const content = reader.bytes();
    const entry = new BinaryReader(content);
    let key = Buffer.alloc(0);
    while (entry.pos < entry.len) {
      const tag = entry.uint32();
      const start = entry.pos;
      // The key as the decoder reads it: a string's bytes, a varint's value (whatever its length).
      if (tag === 10) key = Buffer.from(entry.bytes());
      else if (tag === 8) key = Buffer.from(String(entry.uint64()));
      else {
        entry.skip(tag & 7, tag >>> 3);
        if (tag >>> 3 === 1) key = Buffer.from(content.subarray(start, entry.pos));
      }
    }
    return key;
  } catch {
    return whole;
  }
}

/** The messages the generated decoder reads in `bytes`, the event first. */
function decodedMessages(bytes: Uint8Array): DecodedMessage[] {
  const reader = new CountingReader(bytes, false);
  AuditEvent.decode(reader);
  return reader.decoded;
}

/** The field numbers of the messages at each place (path) in `bytes`: all repeated ones' together. */
function numbersByPath(bytes: Uint8Array): Map<string, Set<number>> {
  const numbers = new Map<string, Set<number>>();
  const reader = new BinaryReader(bytes);
  for (const message of decodedMessages(bytes)) {
    const set = numbers.get(message.path) ?? new Set<number>();
    for (const field of fieldsOf(reader, message)) set.add(field.number);
    numbers.set(message.path, set);
  }
  return numbers;
}

const NOTHING = new Uint8Array(0);

/** The canonical encoding of the event `bytes` decode to, or undefined if they do not decode or encode. */
function canonical(bytes: Uint8Array): Buffer | undefined {
  try {
    return Buffer.from(encodeEventView(decodeEvent(bytes)));
  } catch {
    return undefined;
  }
}

/** The fields of `message`, in their order: each one's number and bytes (tag to end). */
function fieldsOf(
  reader: BinaryReader,
  { start, end }: DecodedMessage,
): { number: number; start: number; end: number }[] {
  const fields: { number: number; start: number; end: number }[] = [];
  reader.pos = start;
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.uint32();
    const number = tag >>> 3;
    const wireType: WireType = tag & 7;
    if (number === 0 || wireType === 4) break; // where the decoder stops (counted by unknownBytes)
    reader.skip(wireType, number);
    fields.push({ number, start: fieldStart, end: reader.pos });
  }
  return fields;
}

/**
 * `bytes` with `range` (inside `message`) replaced by `insert`, the length of `message` and of each
 * message holding it written again to match.
 */
function splice(
  bytes: Uint8Array,
  message: DecodedMessage,
  range: { start: number; end: number },
  insert: Uint8Array,
): Uint8Array {
  // From the innermost message out, each one's new length, which a longer or shorter prefix changes.
  let change = insert.length - (range.end - range.start);
  const prefixes: { message: DecodedMessage; length: Uint8Array }[] = [];
  for (let at: DecodedMessage | undefined = message; at?.parent !== undefined; at = at.parent) {
    const length = new BinaryWriter().uint32(at.end - at.start + change).finish();
    change += length.length - (at.start - at.lengthStart);
    prefixes.unshift({ message: at, length });
  }
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const { message: at, length } of prefixes) {
    parts.push(bytes.subarray(from, at.lengthStart), length);
    from = at.start;
  }
  parts.push(bytes.subarray(from, range.start), insert, bytes.subarray(range.end));
  return Buffer.concat(parts);
}
