/**
 * Bytes of a slab: encoded events are handed out as views of it, one after the other, so that an
 * encode allocates no ArrayBuffer of its own (allocating one cost more than encoding a typical event).
 * A view keeps its whole slab alive, as Node's Buffer pool does with its 8 KiB.
 */
const SLAB_BYTES = 8 * 1024;
/** A new message starts on a new slab when less than this is left of the current one. */
const MIN_FREE_BYTES = 1024;
/** A slab grown past this for one huge event is left to that event, not used for the next ones. */
const MAX_KEPT_BYTES = 64 * 1024;
/** Longest string whose UTF-8 form (at most 3 bytes per UTF-16 unit) surely fits a 1-byte length. */
const SHORT_STRING = 42;
/** Longest string copied by a charCodeAt loop: past it, Buffer#write's call costs less than the loop. */
const ASCII_LOOP = 16;
const TWO_POW_32 = 2 ** 32;
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit value beyond ±(2^53 - 1): ts-proto's encoder writes it, but every reader of the event (its
 * decoder, the store's, the delivery pipeline's) refuses it, so one such event would be accepted and
 * then never read back: a spooled or queued one would stall delivery behind it.
 */
function unreadable(type: string, value: number): Error {
  return new Error(
    `invalid ${type}: ${value} is beyond 2^53 - 1, where no reader of the event could read it`,
  );
}

/**
 * A growable byte buffer that protobuf primitives are written into, reused from one message to the next.
 * Numbers are checked as @bufbuild/protobuf's BinaryWriter checks them (same errors), so the event
 * encoder throws where the generated one throws.
 */
export class WireBuffer {
  /** The slab; `text` is a Buffer view of the same memory, for its fast UTF-8 `write`. */
  private bytes = new Uint8Array(SLAB_BYTES);
  private text = Buffer.from(this.bytes.buffer);
  /** Where the message being written starts: the bytes before it belong to messages handed out. */
  private base = 0;
  /** Where the next byte goes. */
  pos = 0;

  /** Starts a new message, dropping whatever was written since the last `take` (a throw mid-encode too). */
  reset(): void {
    if (this.bytes.length > MAX_KEPT_BYTES || this.bytes.length - this.base < MIN_FREE_BYTES) {
      this.allocate(SLAB_BYTES);
    }
    this.pos = this.base;
  }

  /** The message written since `reset`, as a view the next message overwrites: read it at once. */
  view(): Uint8Array {
    return this.bytes.subarray(this.base, this.pos);
  }

  /** The message written since `reset`, as bytes of its own: the next message goes after them. */
  take(): Uint8Array {
    const message = this.bytes.subarray(this.base, this.pos);
    // A slab grown for a huge message is up to 6 times its size (room for 3 UTF-8 bytes per
    // character, doubled): a copy keeps the message alive without it.
    if (this.bytes.length > MAX_KEPT_BYTES) return message.slice();
    this.base = this.pos;
    return message;
  }

  /** Makes room for `extra` more bytes. */
  ensure(extra: number): void {
    if (this.pos + extra > this.bytes.length) this.grow(this.pos - this.base + extra);
  }

  /** Moves the message being written to the start of a new slab with room for `required` bytes. */
  private grow(required: number): void {
    let size = SLAB_BYTES;
    while (size < required * 2) size *= 2;
    const message = this.bytes.subarray(this.base, this.pos);
    this.allocate(size);
    this.bytes.set(message);
    this.pos = message.length;
  }

  private allocate(size: number): void {
    this.bytes = new Uint8Array(size);
    this.text = Buffer.from(this.bytes.buffer);
    this.base = 0;
  }

  /** A varint of a number already known to be a uint32 (tags, lengths); the caller ensured room. */
  varint32(value: number): void {
    const bytes = this.bytes;
    let v = value;
    while (v > 0x7f) {
      bytes[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    bytes[this.pos++] = v;
  }

  /** A string field, left out when empty. */
  stringField(tag: number, value: string): void {
    if (value === "") return;
    this.tag(tag);
    this.string(value);
  }

  /** A bool field, left out when false. */
  boolField(tag: number, value: boolean): void {
    if (value === false) return;
    this.tag(tag);
    this.bool(value);
  }

  /** An enum field given by its number, left out when 0 (only the `…_UNSPECIFIED` name maps to 0). */
  enumField(tag: number, number: number): void {
    if (number === 0) return;
    this.tag(tag);
    this.int32(number);
  }

  /** A tag, written before every field. */
  tag(tag: number): void {
    this.ensure(5);
    this.varint32(tag);
  }

  /** A `uint32` field's value; throws on what is not an integer in 0..2^32-1. */
  uint32(value: number): void {
    if (!Number.isInteger(value) || value > 0xffffffff || value < 0) {
      throw new Error(`invalid uint32: ${value}`);
    }
    this.ensure(5);
    this.varint32(value);
  }

  /** An `int32` (or enum) field's value: negative numbers take 10 bytes, sign-extended to 64 bits. */
  int32(value: number): void {
    if (!Number.isInteger(value) || value > 0x7fffffff || value < -0x80000000) {
      throw new Error(`invalid int32: ${value}`);
    }
    if (value >= 0) this.uint32(value);
    else this.varint64(BigInt.asUintN(64, BigInt(value)));
  }

  /**
   * A `uint64` field's value given as a number; throws as BigInt(value) and the range check do, and
   * beyond 2^53 - 1 (see unreadable).
   */
  uint64(value: number): void {
    if (value >= 0 && value < TWO_POW_32 && Number.isInteger(value)) {
      this.uint32(value);
      return;
    }
    const big = BigInt(value); // a RangeError for NaN, ±Infinity and fractions, as in BinaryWriter
    if (big < 0n || big > UINT64_MAX) throw new Error(`invalid uint64: ${value}`);
    if (big > MAX_SAFE) throw unreadable("uint64", value);
    this.varint64(big);
  }

  /** An `int64` field's value given as a number: negative ones take 10 bytes (two's complement). */
  int64(value: number): void {
    if (value >= 0 && value < TWO_POW_32 && Number.isInteger(value)) {
      this.uint32(value);
      return;
    }
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) throw new Error(`invalid int64: ${value}`);
    if (big > MAX_SAFE || big < -MAX_SAFE) throw unreadable("int64", value);
    this.varint64(BigInt.asUintN(64, big));
  }

  /** The rare wide varint (negative or ≥ 2^32), through BigInt: simple, and off the hot path. */
  private varint64(unsigned: bigint): void {
    this.ensure(10);
    let v = unsigned;
    while (v > 0x7fn) {
      this.bytes[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.bytes[this.pos++] = Number(v);
  }

  /** A bool field's value, as BinaryWriter writes it (truthy is 1). */
  bool(value: boolean): void {
    this.ensure(1);
    this.bytes[this.pos++] = value ? 1 : 0;
  }

  /**
   * A string's length and UTF-8 bytes (a lone surrogate becomes U+FFFD, as TextEncoder makes it).
   * Buffer#write beat both a charCodeAt loop (past ~16 characters) and TextEncoder.encodeInto.
   */
  string(value: string): void {
    const length = value.length;
    this.ensure(length * 3 + 5);
    const start = this.pos;
    if (length <= ASCII_LOOP) {
      const bytes = this.bytes;
      let at = start + 1;
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code > 0x7f) {
          at = start + 1 + this.text.write(value, start + 1);
          break;
        }
        bytes[at++] = code;
      }
      bytes[start] = at - start - 1;
      this.pos = at;
      return;
    }
    if (length <= SHORT_STRING) {
      const written = this.text.write(value, start + 1);
      this.bytes[start] = written;
      this.pos = start + 1 + written;
      return;
    }
    // The length goes first but is known only after writing: guess all-ASCII, shift if wrong.
    const guess = varintSize(length);
    const written = this.text.write(value, start + guess);
    const size = varintSize(written);
    if (size !== guess) this.bytes.copyWithin(start + size, start + guess, start + guess + written);
    this.varint32(written);
    this.pos += written;
  }

  /**
   * Starts a nested message: reserves one length byte and returns where it is, for `join`, counted from
   * the message start (a `grow` moves the message).
   */
  fork(): number {
    this.ensure(1);
    return this.pos++ - this.base;
  }

  /** Ends a nested message: fills its length in, shifting the body when the length needs > 1 byte. */
  join(forked: number): void {
    const start = this.base + forked;
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.bytes[start] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    const moved = this.base + forked; // where `start` is now, should ensure have moved the message
    this.bytes.copyWithin(moved + size, moved + 1, this.pos);
    this.pos = moved;
    this.varint32(length);
    this.pos += length;
  }
}

/** Bytes of a uint32's varint. */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}
