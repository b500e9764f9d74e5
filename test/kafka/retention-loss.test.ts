// RetentionLoss, the Kafka source's count of messages retention removed before they were stored: what
// is out when the loss is found counts only once handed back, never when a copy of it was stored.
import { describe, expect, it } from "vitest";
import { OffsetRanges, RetentionLoss } from "../../src/kafka/retention-loss.js";

const handOut = (loss: RetentionLoss, from: number, to: number) => {
  for (let o = from; o < to; o++) loss.handedOut(0, BigInt(o));
};

describe("RetentionLoss", () => {
  it("counts the offsets from the committed one to the log start, less those stored", () => {
    const loss = new RetentionLoss();
    handOut(loss, 10, 20);
    for (const o of [10n, 11n, 14n]) loss.stored(0, o);
    loss.removed(0, 10n, 30n);
    // 20 removed, 3 stored, 7 still out (12, 13, 15…19): counted when they come back unstored.
    expect(loss.lost).toBe(10);
  });

  it("counts a message out when the loss was found only once it comes back unstored", () => {
    const loss = new RetentionLoss();
    handOut(loss, 0, 4);
    loss.removed(0, 0n, 6n);
    expect(loss.lost).toBe(2);
    loss.stored(0, 0n);
    loss.stored(0, 1n);
    loss.handedBack(0, 2n);
    expect(loss.lost).toBe(3);
    loss.handedBack(0, 3n);
    expect(loss.lost).toBe(4);
  });

  it("does not count a message one copy of which was stored, nor one handed back while nothing was removed", () => {
    const loss = new RetentionLoss();
    handOut(loss, 0, 2);
    handOut(loss, 0, 2); // redelivered after a rewind, the first copies still out
    loss.removed(0, 0n, 2n);
    loss.handedBack(0, 0n);
    loss.stored(0, 0n);
    loss.stored(0, 1n);
    loss.handedBack(0, 1n);
    expect(loss.lost).toBe(0);
    handOut(loss, 5, 6);
    loss.handedBack(0, 5n);
    expect(loss.lost).toBe(0);
  });

  it("never counts an offset twice, nor below a later committed offset", () => {
    const loss = new RetentionLoss();
    loss.removed(0, 0n, 5n);
    loss.removed(0, 0n, 5n);
    loss.removed(0, 3n, 8n);
    expect(loss.lost).toBe(8);
    loss.removed(0, 20n, 15n);
    loss.removed(1, 2n, 4n);
    expect(loss.lost).toBe(10);
  });
});

describe("OffsetRanges", () => {
  it("keeps offsets added in any order and counts them in a range", () => {
    const ranges = new OffsetRanges();
    for (const o of [5n, 6n, 7n, 1n, 3n, 2n, 10n, 7n]) ranges.add(o);
    expect([0n, 1n, 2n, 3n, 4n, 5n, 7n, 8n, 10n].map((o) => ranges.has(o))).toStrictEqual([
      false,
      true,
      true,
      true,
      false,
      true,
      true,
      false,
      true,
    ]);
    expect(ranges.count(0n, 20n)).toBe(7n);
    expect(ranges.count(2n, 6n)).toBe(3n);
    ranges.dropBelow(3n);
    expect(ranges.count(0n, 20n)).toBe(5n);
    expect(ranges.has(2n)).toBe(false);
  });
});
