import { describe, expect, it } from "vitest";
import { WireBuffer } from "../../src/event/wire-buffer.js";

// The slab's edge cases, which the event tests (encode.test.ts) cannot aim at. A message that outgrows
// the slab moves to a new one; a nested message whose length needs a second byte right at the end of
// the slab is the one case where that move happens inside `join`: the slab (8 KiB) is filled byte by
// byte to get there.

/** Writes a nested message of `count` bytes of 1 that ends exactly at the end of the current slab. */
function nestedToSlabEnd(buffer: WireBuffer, count: number): void {
  const forked = buffer.fork();
  for (let i = 0; i < count; i++) buffer.bool(true);
  buffer.join(forked);
}

/** Length prefix and body of a nested message of `count` bytes of 1. */
function expected(count: number): Uint8Array {
  return Uint8Array.from([(count & 0x7f) | 0x80, count >>> 7, ...new Array<number>(count).fill(1)]);
}

describe("WireBuffer", () => {
  it("moves a message whose nested length widens at the very end of the slab", () => {
    const buffer = new WireBuffer();
    buffer.reset();
    nestedToSlabEnd(buffer, 8191);
    expect(buffer.take()).toStrictEqual(expected(8191));
  });

  it("does so after messages handed out from the same slab, and leaves those as they were", () => {
    const buffer = new WireBuffer();
    buffer.reset();
    buffer.tag(10);
    buffer.string("first");
    const first = buffer.take();
    buffer.reset();
    nestedToSlabEnd(buffer, 8192 - first.length - 1);
    expect(buffer.take()).toStrictEqual(expected(8192 - first.length - 1));
    expect(first).toStrictEqual(Uint8Array.from([10, 5, ...Buffer.from("first")]));
  });

  it("copies a huge message out of the slab grown for it, so that holding it does not hold the slab", () => {
    const buffer = new WireBuffer();
    buffer.reset();
    buffer.tag(10);
    buffer.string("ü".repeat(70_000));
    const huge = buffer.take();
    expect(huge.length).toBe(140_004);
    expect(huge.buffer.byteLength).toBe(huge.length);
    buffer.reset();
    buffer.tag(10);
    buffer.string("small");
    expect(buffer.take().buffer.byteLength).toBe(8192);
  });
});
