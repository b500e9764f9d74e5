import { describe, expect, it } from "vitest";
import { EvictableQueue } from "../../src/delivery/queue-evictable.js";

// Kinds 1 and 2 may be evicted, kind 3 may not.
const EVICTABLE = [false, true, true, false];

function drainSeqs(queue: EvictableQueue): number[] {
  const seqs: number[] = [];
  for (let event = queue.shift(); event !== undefined; event = queue.shift()) seqs.push(event.seq);
  return seqs;
}

describe("EvictableQueue", () => {
  it("is one queue in push order from the head, however its events are split", () => {
    const queue = new EvictableQueue(64, EVICTABLE);
    [3, 1, 3, 2, 1, 3].forEach((kind, i) => {
      queue.push(i + 1, kind, new Uint8Array(i + 1).fill(kind));
    });

    expect([queue.length, queue.bytes, queue.peekSeq(), queue.peekSize()]).toStrictEqual([6, 21, 1, 1]);
    expect(queue.shift()).toMatchObject({ seq: 1, kind: 3, bytes: new Uint8Array([3]) });
    expect([queue.countUpTo(4), queue.minSeq()]).toStrictEqual([3, 2]);
    expect(drainSeqs(queue)).toStrictEqual([2, 3, 4, 5, 6]);
    expect([queue.length, queue.bytes, queue.peekSeq()]).toStrictEqual([0, 0, undefined]);
  });

  it("evicts the oldest evictable event, past the kept ones ahead of it", () => {
    const queue = new EvictableQueue(64, EVICTABLE);
    [3, 3, 2, 1, 3].forEach((kind, i) => {
      queue.push(i + 1, kind, new Uint8Array(4));
    });

    expect([queue.shiftEvictable()?.seq, queue.shiftEvictable()?.seq, queue.shiftEvictable()]).toStrictEqual([
      3,
      4,
      undefined,
    ]);
    expect(drainSeqs(queue)).toStrictEqual([1, 2, 5]);
  });

  it("keeps every event in one FIFO when no kind may be evicted", () => {
    const queue = new EvictableQueue(64, [false, false]);
    queue.push(2, 1, new Uint8Array(1));
    queue.push(1, 1, new Uint8Array(1));

    expect(queue.shiftEvictable()).toBeUndefined();
    // Push order, not sequence order: a parked event promoted behind newer ones stays behind them.
    expect(drainSeqs(queue)).toStrictEqual([2, 1]);
  });
});
