import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";
import { AuditEvent } from "../gen/grpcaudit/v1/event.js";

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

/** A reader that counts what the generated decoders skip or stop at. */
class CountingReader extends BinaryReader {
  unknown = 0;
  /** Where the last varint read started: the tag's, when the decoder skips its field. */
  private lastStart = 0;
  /** The last varint read: a nested message's length, when its decoder starts. */
  private lastValue = 0;
  private depth = 0;
  /** The start and end of each message being decoded, the outermost first. */
  private readonly messages: { start: number; end: number }[] = [];

  constructor(private readonly input: Uint8Array) {
    super(input);
    // The reader sets `uint32` on each instance, not on its prototype: wrapped here.
    const read = this.uint32;
    this.uint32 = () => {
      this.lastStart = this.pos;
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
      const nested = this.messages.length > 0;
      this.messages.push({ start: this.pos, end: nested ? this.pos + this.lastValue : this.len });
    } else {
      const message = this.messages.pop();
      if (message !== undefined) this.unknown += stopped(this.input, message, this.messages.length > 0);
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
