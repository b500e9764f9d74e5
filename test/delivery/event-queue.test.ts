import { describe, expect, it } from "vitest";
import { EventQueue } from "../../src/delivery/event-queue.js";

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);

/** Takes everything, copying each event's bytes (the queue reuses its storage). */
function drain(queue: EventQueue): { seq: number; kind: number; bytes: number[] }[] {
  const out: { seq: number; kind: number; bytes: number[] }[] = [];
  for (let event = queue.shift(); event !== undefined; event = queue.shift()) {
    out.push({ seq: event.seq, kind: event.kind, bytes: [...event.bytes] });
  }
  return out;
}

describe("EventQueue", () => {
  it("returns events first in, first out, across chunk boundaries, and counts events and bytes", () => {
    const queue = new EventQueue(40);
    for (let i = 1; i <= 5; i++) queue.push(i, i % 5, bytes(10 + i, i));

    expect([queue.length, queue.bytes, queue.peekSeq(), queue.peekSize()]).toStrictEqual([5, 65, 1, 11]);
    expect(drain(queue)).toStrictEqual(
      [1, 2, 3, 4, 5].map((i) => ({ seq: i, kind: i % 5, bytes: Array(10 + i).fill(i) })),
    );
    expect([queue.length, queue.bytes, queue.peekSeq(), queue.peekSize()]).toStrictEqual([
      0,
      0,
      undefined,
      undefined,
    ]);
  });

  it("keeps an event larger than a chunk in a chunk of its own", () => {
    const queue = new EventQueue(16);
    queue.push(1, 0, bytes(3, 1));
    queue.push(2, 0, bytes(100, 2));
    queue.push(3, 0, bytes(3, 3));

    expect(drain(queue).map((event) => event.bytes.length)).toStrictEqual([3, 100, 3]);
  });

  it("reuses its storage once empty without corrupting later events", () => {
    const queue = new EventQueue(64);
    for (let round = 1; round <= 3; round++) {
      queue.push(round * 10, 1, bytes(20, round));
      queue.push(round * 10 + 1, 2, bytes(20, round + 100));
      expect(drain(queue)).toStrictEqual([
        { seq: round * 10, kind: 1, bytes: Array(20).fill(round) },
        { seq: round * 10 + 1, kind: 2, bytes: Array(20).fill(round + 100) },
      ]);
    }
  });

  it("finds the smallest sequence number anywhere in the queue", () => {
    const queue = new EventQueue(32);
    for (const seq of [7, 9, 3, 12]) queue.push(seq, 0, bytes(10, seq));

    expect(queue.minSeq()).toBe(3);
    queue.shift();
    queue.shift();
    queue.shift();
    expect(queue.minSeq()).toBe(12);
    queue.shift();
    expect(queue.minSeq()).toBe(Number.POSITIVE_INFINITY);
  });
});
