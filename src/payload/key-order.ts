import type { Scalar } from "./scalars.js";

/**
 * Map entries in the canonical key order: string keys by their UTF-8 bytes (which is Unicode code
 * point order, not JavaScript's UTF-16 order), integer keys by numeric value (signed types signed),
 * bool keys false before true. Returns a new array; entries of equal keys keep their order.
 * @internal
 */
export function sortByKey<T>(entries: readonly (readonly [Scalar, T])[]): (readonly [Scalar, T])[] {
  const compare = comparatorOf(entries);
  return [...entries].sort(([a], [b]) => compare(a, b));
}

/**
 * The entries in the canonical key order, as sortByKey gives them, found one at a time: all are looked
 * at once (a heap), then each next one costs a logarithm of their number, so taking the first few of
 * a million is about linear, where sorting them all is not.
 * @internal
 */
export function* inKeyOrder<T>(entries: readonly (readonly [Scalar, T])[]): Generator<readonly [Scalar, T]> {
  // A heap of positions: equal keys (a lone surrogate and U+FFFD) come in the order held, as in a stable sort.
  const heap = Array.from(entries.keys());
  const compare = comparatorOf(entries);
  const before = (i: number, j: number) => {
    const a = entries[i];
    const b = entries[j];
    return a !== undefined && b !== undefined && (compare(a[0], b[0]) || i - j) < 0;
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, before);
  while (heap.length > 0) {
    const first = entries[heap[0] ?? 0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      siftDown(heap, 0, before);
    }
    if (first !== undefined) yield first;
  }
}

function siftDown(heap: number[], from: number, before: (i: number, j: number) => boolean): void {
  let at = from;
  for (;;) {
    const left = 2 * at + 1;
    const right = left + 1;
    let least = at;
    if (left < heap.length && before(heap[left] ?? 0, heap[least] ?? 0)) least = left;
    if (right < heap.length && before(heap[right] ?? 0, heap[least] ?? 0)) least = right;
    if (least === at) return;
    const held = heap[at] ?? 0;
    heap[at] = heap[least] ?? 0;
    heap[least] = held;
    at = least;
  }
}

/** Code units from the surrogates up: where UTF-16 order and code point order part. */
const HIGH_UNITS = /[\ud800-\uffff]/;

/**
 * compareKeys, or JavaScript's own string comparison, several times faster, when every key is a string
 * below U+D800: there UTF-16 order is code point order.
 */
function comparatorOf(entries: readonly (readonly [Scalar, unknown])[]): (a: Scalar, b: Scalar) => number {
  for (const [key] of entries) if (typeof key !== "string" || HIGH_UNITS.test(key)) return compareKeys;
  return (a, b) => (a < b ? -1 : a > b ? 1 : 0);
}

/** Two keys of one map in the canonical order: <0, 0 or >0. @internal */
export function compareKeys(a: Scalar, b: Scalar): number {
  if (typeof a === "string" && typeof b === "string") return compareUtf8(a, b);
  // Integers of one key type are all numbers or all bigints; bools compare as 0 and 1.
  const x = typeof a === "boolean" ? Number(a) : a;
  const y = typeof b === "boolean" ? Number(b) : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `Buffer.compare(Buffer.from(a), Buffer.from(b))` without making the buffers (two per comparison
 * were most of a large map's cost): UTF-8 bytes compare as the code points they encode, and
 * Buffer.from writes a lone surrogate as U+FFFD, so code points are compared, a lone surrogate as U+FFFD.
 */
function compareUtf8(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    // Below the surrogates, one unit is one code point: the common case needs no decoding.
    if (x === y && x < 0xd800) {
      i++;
      j++;
      continue;
    }
    const p = codePointAt(a, i);
    const q = codePointAt(b, j);
    if (p !== q) return p < q ? -1 : 1;
    i += p > 0xffff ? 2 : 1;
    j += q > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/** The code point at `i`, U+FFFD for a lone surrogate (as UTF-8 encoding writes it). */
function codePointAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdfff) return unit;
  const next = text.charCodeAt(i + 1);
  if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff)
    return (unit - 0xd800) * 0x400 + next - 0xdc00 + 0x10000;
  return 0xfffd;
}
