// Which rows a prune deletes, per chain: a prefix of older seqs that ends right before a checkpoint.
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { planPrune, startPrunePlan } from "../../src/store/prune-plan.js";
import { recordTrail } from "../chain/trail.js";

// Seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final.
const trail = await recordTrail(10, { checkpointEvery: 4 });

/** Rows at position = seq, at the times given per seq (ms), else at 100. */
function rows(times: Record<number, number>, events: readonly AuditEvent[] = trail) {
  return events.map((event, i) => ({
    position: i + 1,
    occurredAtMs: times[i + 1] ?? 100,
    event: encodeEvent(event),
  }));
}
const old = (...seqs: number[]) => Object.fromEntries(seqs.map((seq) => [seq, 1]));
/** The plan with plain arrays, to compare whole. */
const plain = ({ positions, parts, report }: ReturnType<typeof planPrune>) => ({
  positions: Array.from(positions),
  parts: Array.from(parts),
  report,
});

describe("planPrune", () => {
  it("cuts right before the last checkpoint at or below the first newer seq, keeping it", () => {
    expect(plain(planPrune(rows(old(1, 2, 3, 4, 5, 6, 7)), 50))).toStrictEqual({
      positions: [1, 2, 3, 4],
      parts: [0, 0, 0, 0],
      report: {
        deleted: 4,
        kept: { anchors: 1, afterLastCheckpoint: 2, behindNewer: 0 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 0,
      },
    });
    // A newer checkpoint right after the older events: it anchors, nothing older is kept.
    expect(planPrune(rows(old(1, 2, 3, 4, 6, 7, 8, 9)), 50).report).toMatchObject({
      deleted: 4,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 4 },
    });
  });

  it("deletes a chain whose every event is older whole, counted as such and not as cut", () => {
    const all = Object.fromEntries(trail.map((_, i) => [i + 1, 1]));
    expect(planPrune(rows(all), 50).report).toStrictEqual({
      deleted: trail.length,
      kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
      anchoredChains: 0,
      wholeChains: 1,
      unsignedChains: 0,
      unchained: 0,
    });
  });

  it("deletes nothing of a chain whose first checkpoint is not at or below its first newer seq", () => {
    expect(planPrune(rows(old(1, 2, 4)), 50).report).toMatchObject({
      deleted: 0,
      kept: { anchors: 0, afterLastCheckpoint: 2, behindNewer: 1 },
      anchoredChains: 0,
      wholeChains: 0,
    });
  });

  it("deletes events without a chain, and rows that cannot be read, by time alone", () => {
    const { chain: _, ...unchained } = trail[0] as AuditEvent;
    const events = [unchained, trail[1] as AuditEvent];
    const damaged = [...rows(old(1, 2), events)];
    damaged[1] = { ...(damaged[1] as (typeof damaged)[number]), event: new Uint8Array([0x82, 0x01, 0xff]) };
    expect(plain(planPrune(damaged, 50))).toStrictEqual({
      positions: [1, 2],
      parts: [0, 0],
      report: {
        deleted: 2,
        kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
        anchoredChains: 0,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 2,
      },
    });
  });

  it("never deletes a row stored after the plan read its rows: it ends its chain's prefix as a newer one", () => {
    // Seq 7 (older) arrives after the plan read the others: the prefix then ends before checkpoint 5.
    const plan = startPrunePlan(50);
    for (const row of rows(old(1, 2, 3, 4, 5, 6, 8, 9, 10))) if (row.position !== 7) plan.add(row);
    plan.keep({ event: encodeEvent(trail[6] as AuditEvent), occurredAtMs: 1 });
    expect(plain(plan.finish())).toStrictEqual({
      positions: [1, 2, 3, 4],
      parts: [0, 0, 0, 0],
      report: {
        deleted: 4,
        // 5 anchors, 6 follows it, 7 arrived and 8 to 10 are behind it.
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 0, arrived: 4 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 0,
      },
    });
  });

  it("groups the rows to delete by part, in the order read within each", () => {
    const parted = rows(old(1, 2, 3, 4, 5)).map((row) => ({ ...row, part: row.position % 2 === 0 ? 7 : 3 }));
    const { positions, parts } = planPrune(parted, 50);
    expect([Array.from(positions), Array.from(parts)]).toStrictEqual([
      [1, 3, 2, 4],
      [3, 3, 7, 7],
    ]);
  });
});
