import { randomFillSync } from "node:crypto";
import { V7Generator } from "uuidv7";

// Random bits come from a pool filled many words at a time: asking the OS for 4 bytes per id showed up
// in an audited call's CPU profile.
const pool = new Uint32Array(1024);
let next = pool.length;
const pooledRandom = {
  nextUint32(): number {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return pool[next++] as number;
  },
};
const generator = new V7Generator(pooledRandom);

/**
 * Returns a new event id: a UUIDv7, unique and ordered by creation time. Within one process, ids made
 * in the same millisecond still sort in creation order (the generator keeps a monotonic counter).
 * @internal
 */
export function newEventId(): string {
  return uuidText(generator.generate().bytes);
}

const HEX = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0));
const DASH = 0x2d;
const hi = (byte: number) => HEX[byte >>> 4] as number;
const lo = (byte: number) => HEX[byte & 0xf] as number;

// The text as one flat string: uuidv7's toString() adds one character at a time, and the resulting
// chain of string pieces cost more to make and then to flatten in JSON.stringify than the rest of
// building the event.
function uuidText(b: Uint8Array): string {
  // biome-ignore format: one group of the UUID text per line
  return String.fromCharCode(
    hi(b[0]), lo(b[0]), hi(b[1]), lo(b[1]), hi(b[2]), lo(b[2]), hi(b[3]), lo(b[3]), DASH,
    hi(b[4]), lo(b[4]), hi(b[5]), lo(b[5]), DASH,
    hi(b[6]), lo(b[6]), hi(b[7]), lo(b[7]), DASH,
    hi(b[8]), lo(b[8]), hi(b[9]), lo(b[9]), DASH,
    hi(b[10]), lo(b[10]), hi(b[11]), lo(b[11]), hi(b[12]), lo(b[12]),
    hi(b[13]), lo(b[13]), hi(b[14]), lo(b[14]), hi(b[15]), lo(b[15]),
  );
}
