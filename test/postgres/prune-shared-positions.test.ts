// The PostgreSQL store's seq has no unique index: rows put in from outside may share a position. The
// prune's plan read pages of 5000 rows by `seq > $1 ORDER BY seq LIMIT 5000`: a page ending inside a
// position's rows left the rest of them unread. And it deleted by position alone, so a forged row at
// a planned row's position went with it, uncounted by the plan, and verify no longer saw it.
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { withoutOrder } from "../../src/cli/commands/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { applyPlan, readPlan, type SnapshotPlan } from "../../src/postgres/prune.js";
import { planPrune, startPrunePlan } from "../../src/store/prune-plan.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A trail of `count` mutations (a checkpoint every `checkpointEvery`), a second apart from January 10th. */
function januaryTrail(count: number, checkpointEvery: number): Promise<AuditEvent[]> {
  let tick = 0;
  const start = Date.parse("2026-01-10T00:00:00Z");
  return recordTrail(count, { checkpointEvery, recorder: { now: () => new Date(start + tick++ * 1000) } });
}

/** A chainless copy of `event` under another id, as someone with write access would put in. */
function forgedFrom(event: AuditEvent, eventId: string): AuditEvent {
  const { chain: _, ...rest } = event;
  return { ...rest, eventId };
}

/** Stores `events`, then moves the rows of `forged` ids to position `seq` (that of a genuine row). */
async function storeWithForged(events: readonly AuditEvent[], forged: string[], seq: number) {
  const url = await server.createDatabase();
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(events);
  await writer.close();
  await withClient(url, (client) =>
    client.query("UPDATE audit_events SET seq = $1 WHERE event_id = ANY($2)", [seq, forged]),
  );
  return url;
}

/**
 * What a prune before `before` should do, from every stored row (read here in one statement): its
 * report, and the ids of the rows it leaves.
 */
async function expectedPrune(url: string, before: Date) {
  const rows = await withClient(url, async (client) => {
    const read = await client.query<{ id: string; at: string; event: Uint8Array }>(
      "SELECT event_id id, occurred_at_ms at, event FROM audit_events ORDER BY seq, event_id",
    );
    return read.rows;
  });
  const plan = planPrune(
    rows.map((row, position) => ({ position, occurredAtMs: Number(row.at), event: row.event })),
    before.getTime(),
  );
  const gone = new Set(plan.positions);
  return {
    report: plan.report,
    left: rows
      .filter((_, i) => !gone.has(i))
      .map((row) => row.id)
      .sort(),
  };
}

async function idsLeft(url: string): Promise<string[]> {
  const rows = await withClient(url, (client) =>
    client.query<{ id: string }>("SELECT event_id id FROM audit_events"),
  );
  return rows.rows.map((row) => row.id).sort();
}

async function verifyPg(url: string) {
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), { publicKeys: PUBLIC_KEYS });
    return {
      unreadable: tally.unreadable.map((u) => u.where),
      findings: [
        ...withoutOrder(report.chains).flatMap((c) => c.findings.map((f) => f.kind)),
        ...report.findings.map((f) => f.kind),
      ],
      unchained: report.unchained,
      pruned: report.chains.map((c) => c.pruned?.toSeq),
    };
  } finally {
    await store.close();
  }
}

it("plans every row of a position two rows share across the end of a 5000-row page", async () => {
  const trail = await januaryTrail(5100, 100);
  // Row 5000 is the last of the plan's first page: a forged old row shares it, and either left unread
  // changes the plan (a chain missing a seq, or a chainless row not deleted).
  const forged = forgedFrom(trail[10] as AuditEvent, "forged");
  const url = await storeWithForged([...trail, forged], ["forged"], 5000);
  const before = trail[5050]?.occurredAt as Date;
  const expected = await expectedPrune(url, before);
  expect(expected.report.unchained).toBe(1);
  expect(expected.left).not.toContain("forged");
  expect(expected.left).not.toContain(trail[4999]?.eventId);
  const store = await openPostgresStore({ connectionString: url });
  try {
    expect(await store.pruneReport({ before, dryRun: true })).toStrictEqual(expected.report);
    expect(await store.pruneReport({ before })).toStrictEqual(expected.report);
  } finally {
    await store.close();
  }
  expect(await idsLeft(url)).toStrictEqual(expected.left);
  const anchor = trail.length - expected.left.length + 1; // the chain starts at its kept checkpoint
  expect(await verifyPg(url)).toStrictEqual({
    unreadable: [],
    findings: [],
    unchained: 0,
    pruned: [anchor - 1],
  });
});

it("deletes only the planned row of a position: forged newer rows sharing it stay, and verify names them", async () => {
  const trail = await januaryTrail(20, 4);
  const before = trail[12]?.occurredAt as Date; // in January: the month's partition stays
  // Newer than `before`, so never planned; moved to position 2, an older row the prune deletes.
  const forged = ["forged-a", "forged-b"].map((id) => forgedFrom(trail[20] as AuditEvent, id));
  const url = await storeWithForged([...trail, ...forged], ["forged-a", "forged-b"], 2);
  const shared = `row 2 (events ${[trail[1]?.eventId, "forged-a", "forged-b"].sort().join(", ")})`;
  expect((await verifyPg(url)).unreadable).toStrictEqual([shared]);
  const expected = await expectedPrune(url, before);
  expect(expected.left).toContain("forged-a");
  expect(expected.left).not.toContain(trail[1]?.eventId);
  const store = await openPostgresStore({ connectionString: url });
  try {
    expect(await store.pruneReport({ before })).toStrictEqual(expected.report);
  } finally {
    await store.close();
  }
  expect(await idsLeft(url)).toStrictEqual(expected.left);
  // The forged rows still share position 2, and are still found.
  expect(await verifyPg(url)).toStrictEqual({
    unreadable: ["row 2 (events forged-a, forged-b)"],
    findings: [], // unchained events are a finding only with --sealed
    unchained: 2,
    pruned: [expected.report.deleted],
  });
});

/** The plan's snapshot, read as the store reads it (one REPEATABLE READ transaction). */
function snapshotPlan(url: string, before: Date): Promise<SnapshotPlan> {
  return withClient(url, async (client) => {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    const read = await readPlan(client, before.getTime());
    await client.query("COMMIT");
    return read;
  });
}

/** Carries out `read` in one transaction, as the store does under the writers' lock; the names of the partitions dropped too. */
function carryOut(url: string, read: SnapshotPlan, before: Date) {
  return withClient(url, async (client) => {
    const dropped: string[] = [];
    await client.query("BEGIN");
    const report = await applyPlan(client, read, before.getTime(), (name) => dropped.push(name));
    await client.query("COMMIT");
    return { report, dropped };
  });
}

const FEB = new Date("2026-02-01T00:00:00Z");

it("reads every row stored since the plan's snapshot at a position shared across the end of a 5000-row page", async () => {
  // Two chains, each stored without its seq 12 (a backlog on its way): the plan cuts each at 10.
  const chains = [await januaryTrail(20, 4), await januaryTrail(20, 4)];
  const late = chains.map((trail) => trail[11] as AuditEvent);
  expect(late.map((event) => event.chain?.seq)).toStrictEqual([12, 12]);
  const url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  let at = 0;
  try {
    await store.insert(chains.flat().filter((event) => !late.includes(event)));
    const read = await snapshotPlan(url, FEB);
    // Stored since: 4999 newer events, then both late ones, moved to one position, the 5000th after
    // the snapshot's last. Either one left unread would leave its chain's prefix longer than it may be.
    const newer = Array.from({ length: 5010 }, (_, i) =>
      forgedFrom(sampleEvent({ occurredAt: new Date(FEB.getTime() + i) }), `newer-${i}`),
    );
    await store.insert([...newer.slice(0, 4999), ...late, ...newer.slice(4999)]);
    at = Number(read.lastSeq) + 5000;
    await withClient(url, (client) =>
      client.query("UPDATE audit_events SET seq = $1 WHERE event_id = ANY($2)", [
        at,
        late.map((event) => event.eventId),
      ]),
    );
    // What the plan should come to: every row of the snapshot added, every row since kept.
    const expected = await withClient(url, async (client) => {
      const plan = startPrunePlan(FEB.getTime());
      const rows = await client.query<{ seq: string; at: string; event: Uint8Array }>(
        "SELECT seq, occurred_at_ms at, event FROM audit_events ORDER BY seq",
      );
      for (const [position, row] of rows.rows.entries()) {
        const occurredAtMs = Number(row.at);
        if (BigInt(row.seq) <= BigInt(read.lastSeq)) plan.add({ position, occurredAtMs, event: row.event });
        else plan.keep({ event: row.event, occurredAtMs });
      }
      return plan.finish().report;
    });
    // Each late one and the older events after it in its chain.
    expect(expected.kept.arrived).toBe(2 * (chains[0]?.length ?? 0) - 2 * 11);
    expect((await carryOut(url, read, FEB)).report).toStrictEqual(expected);
    const left = await idsLeft(url);
    expect(late.every((event) => left.includes(event.eventId))).toBe(true);
  } finally {
    await store.close();
  }
  expect(await verifyPg(url)).toStrictEqual({
    unreadable: [
      `row ${at} (events ${late
        .map((e) => e.eventId)
        .sort()
        .join(", ")})`,
    ],
    findings: [],
    unchained: 5010,
    pruned: [9, 9],
  });
});

it("does not drop a month whose every row was planned when a row was put in since, at a planned row's position", async () => {
  const decemberTime = new Date("2025-12-15T00:00:00Z");
  const december = forgedFrom(sampleEvent({ occurredAt: decemberTime }), "december-1");
  const url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  try {
    await store.insert([december]);
    const read = await snapshotPlan(url, FEB);
    // Put in from outside after the snapshot, below its last position: no prune read it.
    await store.insert([{ ...december, eventId: "forged" }]);
    await withClient(url, (client) =>
      client.query("UPDATE audit_events SET seq = 1 WHERE event_id = 'forged'"),
    );
    const { report, dropped } = await carryOut(url, read, FEB);
    expect([report.deleted, report.unchained, dropped]).toStrictEqual([1, 1, []]);
  } finally {
    await store.close();
  }
  expect(await idsLeft(url)).toStrictEqual(["forged"]);
  expect(await verifyPg(url)).toStrictEqual({ unreadable: [], findings: [], unchained: 1, pruned: [] });
});
