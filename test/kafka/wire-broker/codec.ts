/**
 * Kafka wire primitives: a Reader over one request body and a Writer building one response, for both
 * the classic encodings (INT16-length STRING, INT32-length ARRAY) and the flexible ones of KIP-482
 * (COMPACT_STRING and COMPACT_ARRAY with length + 1 as an unsigned varint, and TAG_BUFFERs).
 */

/** Reads Kafka primitives from a buffer, front to back; throws RangeError past its end. */
export class Reader {
  position = 0;
  constructor(readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.position;
  }
  int8(): number {
    return this.advance(1, this.buffer.readInt8(this.position));
  }
  int16(): number {
    return this.advance(2, this.buffer.readInt16BE(this.position));
  }
  int32(): number {
    return this.advance(4, this.buffer.readInt32BE(this.position));
  }
  int64(): bigint {
    return this.advance(8, this.buffer.readBigInt64BE(this.position));
  }
  boolean(): boolean {
    return this.int8() !== 0;
  }
  /** UNSIGNED_VARINT: 7 bits a byte, least significant first. */
  unsignedVarInt(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.advance(1, this.buffer.readUInt8(this.position));
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new RangeError("varint longer than 5 bytes");
  }
  /** VARINT: a zigzag-encoded signed varint (records use it for lengths, -1 is null). */
  varInt(): number {
    const raw = this.unsignedVarInt();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
  /** VARLONG: a zigzag-encoded signed varint of up to 64 bits. */
  varLong(): bigint {
    let raw = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.advance(1, this.buffer.readUInt8(this.position));
      raw |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (raw >> 1n) ^ -(raw & 1n);
    }
    throw new RangeError("varlong longer than 10 bytes");
  }
  /** STRING (INT16 length) or, when `compact`, COMPACT_STRING; null when the length says null. */
  nullableString(compact: boolean): string | null {
    const length = compact ? this.unsignedVarInt() - 1 : this.int16();
    if (length < 0) return null;
    return this.bytesOf(length).toString("utf8");
  }
  string(compact: boolean): string {
    return this.nullableString(compact) ?? "";
  }
  /** BYTES (INT32 length) or, when `compact`, COMPACT_BYTES; null when the length says null. */
  nullableBytes(compact: boolean): Buffer | null {
    const length = compact ? this.unsignedVarInt() - 1 : this.int32();
    return length < 0 ? null : this.bytesOf(length);
  }
  /** ARRAY (INT32 count) or COMPACT_ARRAY; a null array reads as empty. */
  array<T>(compact: boolean, entry: (reader: Reader) => T): T[] {
    const count = compact ? this.unsignedVarInt() - 1 : this.int32();
    const entries: T[] = [];
    for (let i = 0; i < count; i++) entries.push(entry(this));
    return entries;
  }
  /** A TAG_BUFFER: every tagged field is skipped (none we read carries meaning for us). */
  taggedFields(): void {
    const count = this.unsignedVarInt();
    for (let i = 0; i < count; i++) {
      this.unsignedVarInt();
      this.bytesOf(this.unsignedVarInt());
    }
  }
  bytesOf(length: number): Buffer {
    if (length > this.remaining) throw new RangeError(`${length} bytes wanted, ${this.remaining} left`);
    return this.advance(length, this.buffer.subarray(this.position, this.position + length));
  }

  private advance<T>(bytes: number, value: T): T {
    this.position += bytes;
    return value;
  }
}

/** Builds a response from Kafka primitives; `flexible` picks compact strings, arrays and bytes. */
export class Writer {
  private readonly parts: Buffer[] = [];
  constructor(readonly flexible: boolean) {}

  int8(value: number): this {
    return this.fixed(1, (b) => b.writeInt8(value));
  }
  int16(value: number): this {
    return this.fixed(2, (b) => b.writeInt16BE(value));
  }
  int32(value: number): this {
    return this.fixed(4, (b) => b.writeInt32BE(value));
  }
  int64(value: bigint): this {
    return this.fixed(8, (b) => b.writeBigInt64BE(value));
  }
  boolean(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }
  unsignedVarInt(value: number): this {
    const bytes: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    return this.raw(Buffer.from(bytes));
  }
  string(value: string | null): this {
    if (value === null) return this.flexible ? this.unsignedVarInt(0) : this.int16(-1);
    const bytes = Buffer.from(value, "utf8");
    return (this.flexible ? this.unsignedVarInt(bytes.length + 1) : this.int16(bytes.length)).raw(bytes);
  }
  bytes(value: Buffer | null): this {
    if (value === null) return this.flexible ? this.unsignedVarInt(0) : this.int32(-1);
    return (this.flexible ? this.unsignedVarInt(value.length + 1) : this.int32(value.length)).raw(value);
  }
  /** An array; in a flexible version each entry of structs ends with its (empty) TAG_BUFFER. */
  array<T>(values: readonly T[], entry: (writer: this, value: T) => void, structs = true): this {
    if (this.flexible) this.unsignedVarInt(values.length + 1);
    else this.int32(values.length);
    for (const value of values) {
      entry(this, value);
      if (structs) this.taggedFields();
    }
    return this;
  }
  /** An empty TAG_BUFFER in a flexible version; nothing in a classic one. */
  taggedFields(): this {
    return this.flexible ? this.unsignedVarInt(0) : this;
  }
  raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }

  private fixed(size: number, write: (buffer: Buffer) => void): this {
    const buffer = Buffer.alloc(size);
    write(buffer);
    return this.raw(buffer);
  }
}
