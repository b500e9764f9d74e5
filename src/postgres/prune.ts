import type pg from "pg";
import { type PruneReport, startPrunePlan } from "../store/prune-plan.js";
import { IN_POSITION_RANGE } from "../store/stored-rows.js";
import { listPartitions } from "./partitions.js";
import { EVENTS_TABLE } from "./schema.js";

/** Rows a prune reads, and deletes, per statement. */
const PAGE = 5000;
const DELETE_BATCH = 10_000;

/** A prune's plan as read from one snapshot, before it takes the writers' lock. @internal */
export interface SnapshotPlan {
  plan: ReturnType<typeof startPrunePlan>;
  /** The highest insertion position read: any row above it was stored after the snapshot. */
  lastSeq: string;
  /** Part number (as the plan has it) → oid of the partition that held the row. */
  oids: number[];
  /** Rows read per part number. */
  rowsPerPart: number[];
}

/**
 * Reads every row with a position from 1 into a prune plan, page by page in insertion order. Run in
 * one REPEATABLE READ transaction without the writers' lock: ingesters go on meanwhile. Rows above the
 * position range are left out (their position would round to another row's, which would be deleted
 * instead): `applyPlan` reads them as arrived since, so they are kept and bound their chain.
 * @internal
 */
export async function readPlan(client: pg.ClientBase, beforeMs: number): Promise<SnapshotPlan> {
  const read: SnapshotPlan = { plan: startPrunePlan(beforeMs), lastSeq: "0", oids: [], rowsPerPart: [] };
  const parts = new Map<number, number>();
  for (;;) {
    const page = await client.query<{ seq: string; at: string; event: Uint8Array; oid: string }>(
      `SELECT seq, occurred_at_ms at, event, tableoid::int8 oid FROM ${EVENTS_TABLE} WHERE seq > $1 AND ${IN_POSITION_RANGE} ORDER BY seq LIMIT ${PAGE}`,
      [read.lastSeq],
    );
    for (const row of page.rows) {
      const oid = Number(row.oid);
      let part = parts.get(oid);
      if (part === undefined) {
        part = read.oids.push(oid) - 1;
        parts.set(oid, part);
        read.rowsPerPart.push(0);
      }
      read.rowsPerPart[part] = (read.rowsPerPart[part] ?? 0) + 1;
      read.plan.add({ position: Number(row.seq), occurredAtMs: Number(row.at), event: row.event, part });
    }
    const last = page.rows[page.rows.length - 1];
    if (last !== undefined) read.lastSeq = last.seq;
    if (page.rows.length < PAGE) return read;
  }
}

/**
 * Carries out a plan under the writers' lock, in its transaction. Rows stored since the snapshot
 * (positions above `lastSeq`: insertion order is commit order) are read first and only bound their
 * chain's prefix; they are never deleted. Then, per partition, the planned rows go: the whole
 * partition is dropped when it is entirely older than `beforeMs` and every row it held is planned,
 * else they are deleted by position. Partitions entirely older that are left empty are dropped too.
 * `dropped` is told each table name dropped. The report's `deleted` counts the rows that went: fewer
 * than planned when another prune took some first (its rows are gone, or its partition dropped).
 * @internal
 */
export async function applyPlan(
  client: pg.ClientBase,
  read: SnapshotPlan,
  beforeMs: number,
  dropped: (name: string) => void,
): Promise<PruneReport> {
  const arrived = new Set<number>();
  for (let after = read.lastSeq; ; ) {
    const page = await client.query<{ seq: string; at: string; event: Uint8Array; oid: string }>(
      `SELECT seq, occurred_at_ms at, event, tableoid::int8 oid FROM ${EVENTS_TABLE} WHERE seq > $1 ORDER BY seq LIMIT ${PAGE}`,
      [after],
    );
    for (const row of page.rows) {
      read.plan.keep({ event: row.event, occurredAtMs: Number(row.at) });
      arrived.add(Number(row.oid));
    }
    const last = page.rows[page.rows.length - 1];
    if (last === undefined || page.rows.length < PAGE) break;
    after = last.seq;
  }
  const { positions, parts, report } = read.plan.finish();
  const listed = new Map((await listPartitions(client)).map((p) => [p.oid, p]));
  let deleted = 0;
  const drop = async (oid: number, name: string) => {
    const table = client.escapeIdentifier(name); // the catalog's name, as it is
    const count = await client.query<{ n: string }>(`SELECT count(*) n FROM ${table}`);
    deleted += Number(count.rows[0]?.n ?? 0);
    await client.query(`DROP TABLE ${table}`);
    listed.delete(oid);
    dropped(name);
  };
  for (let start = 0; start < positions.length; ) {
    const part = parts[start] as number;
    let end = start;
    while (end < positions.length && parts[end] === part) end++;
    const oid = read.oids[part] as number;
    const partition = listed.get(oid); // undefined: dropped since the snapshot, its rows with it
    if (partition !== undefined) {
      const whole = end - start === read.rowsPerPart[part] && !arrived.has(oid);
      if (whole && partition.toMs <= beforeMs) await drop(oid, partition.name);
      else {
        const table = client.escapeIdentifier(partition.name);
        for (let i = start; i < end; i += DELETE_BATCH) {
          const batch = Array.from(positions.subarray(i, Math.min(end, i + DELETE_BATCH)));
          const gone = await client.query(`DELETE FROM ${table} WHERE seq = ANY($1::bigint[])`, [batch]);
          deleted += gone.rowCount ?? 0;
        }
      }
    }
    start = end;
  }
  for (const [oid, p] of listed) {
    if (p.toMs > beforeMs) continue;
    const any = await client.query(`SELECT 1 FROM ${client.escapeIdentifier(p.name)} LIMIT 1`);
    if (any.rowCount === 0) await drop(oid, p.name);
  }
  return { ...report, deleted };
}
