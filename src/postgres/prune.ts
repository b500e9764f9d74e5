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
  /**
   * Of each older row read (the rows a plan may choose), by the number the plan has as its position:
   * its position, event id and time, which name that row alone (the key is the id and time).
   */
  older: { seqs: number[]; ids: string[]; times: number[] };
}

/** A page of rows after a position: it ends after every row of its last position (see `pageAfter`). */
type Page = pg.QueryResult<{ seq: string; id: string; at: string; event: Uint8Array; oid: string }>;

/**
 * The rows after position `after` (and within `range`), in position order: PAGE of them, and then
 * the other rows of the last one's position, never ending inside them (seq has no unique index: rows
 * put in from outside may share one), as `tail` pages. A page holds PAGE rows or more unless it is
 * the last: when fewer than PAGE rows follow, it holds them all.
 */
function pageAfter(client: pg.ClientBase, after: string, range: string): Promise<Page> {
  const where = `seq > $1 AND ${range}`;
  // The PAGE-th row's position, or none (all the rest) when fewer follow.
  const end = `SELECT max(seq) FROM (SELECT seq FROM ${EVENTS_TABLE} WHERE ${where} ORDER BY seq LIMIT ${PAGE}) page HAVING count(*) = ${PAGE}`;
  return client.query(
    `SELECT seq, event_id id, occurred_at_ms at, event, tableoid::int8 oid FROM ${EVENTS_TABLE}
     WHERE ${where} AND seq <= coalesce((${end}), ${MAX_BIGINT}) ORDER BY seq`,
    [after],
  );
}

/** PostgreSQL's largest bigint: no row's position is above it. */
const MAX_BIGINT = "9223372036854775807";

/**
 * Reads every row with a position from 1 into a prune plan, page by page in insertion order. Run in
 * one REPEATABLE READ transaction without the writers' lock: ingesters go on meanwhile. Rows above the
 * position range are left out (their position would round to another row's, which would be deleted
 * instead): `applyPlan` reads them as arrived since, so they are kept and bound their chain. The plan
 * is given, as each older row's position, its number in `older`: rows may share a position.
 * @internal
 */
export async function readPlan(client: pg.ClientBase, beforeMs: number): Promise<SnapshotPlan> {
  const older = { seqs: [] as number[], ids: [] as string[], times: [] as number[] };
  const read: SnapshotPlan = {
    plan: startPrunePlan(beforeMs),
    lastSeq: "0",
    oids: [],
    rowsPerPart: [],
    older,
  };
  const parts = new Map<number, number>();
  for (;;) {
    const page = await pageAfter(client, read.lastSeq, IN_POSITION_RANGE);
    for (const row of page.rows) {
      const oid = Number(row.oid);
      let part = parts.get(oid);
      if (part === undefined) {
        part = read.oids.push(oid) - 1;
        parts.set(oid, part);
        read.rowsPerPart.push(0);
      }
      read.rowsPerPart[part] = (read.rowsPerPart[part] ?? 0) + 1;
      const occurredAtMs = Number(row.at);
      // A newer row is never chosen: its position is not needed.
      let position = -1;
      if (occurredAtMs < beforeMs) {
        position = older.seqs.push(Number(row.seq)) - 1;
        older.ids.push(row.id);
        older.times.push(occurredAtMs);
      }
      read.plan.add({ position, occurredAtMs, event: row.event, part });
    }
    const last = page.rows[page.rows.length - 1];
    if (last !== undefined) read.lastSeq = last.seq;
    // Fewer than PAGE: the last page. A page may hold more (the rows of its last position).
    if (page.rows.length < PAGE) return read;
  }
}

/**
 * Carries out a plan under the writers' lock, in its transaction. Rows stored since the snapshot
 * (positions above `lastSeq`: insertion order is commit order) are read first and only bound their
 * chain's prefix; they are never deleted. Then, per partition, the planned rows go: the whole
 * partition is dropped when it is entirely older than `beforeMs`, every row it held is planned and it
 * holds as many rows as planned, else they are deleted, each named by its position, id and time:
 * never another row that only shares its position (put in from outside). Partitions entirely older
 * that are left empty are dropped too. `dropped` is told each table name dropped. The report's
 * `deleted` counts the rows that went: fewer than planned when another prune took some first (its
 * rows are gone, or its partition dropped).
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
    const page = await pageAfter(client, after, "true");
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
    await client.query(`DROP TABLE ${client.escapeIdentifier(name)}`);
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
      const table = client.escapeIdentifier(partition.name); // the catalog's name, as it is
      const whole = end - start === read.rowsPerPart[part] && !arrived.has(oid);
      // As many rows as planned: none put in from outside since, none taken by another prune.
      const held = whole && partition.toMs <= beforeMs ? await countRows(client, table) : -1;
      if (held === end - start) {
        deleted += held;
        await drop(oid, partition.name);
      } else deleted += await deleteRows(client, table, read.older, positions.subarray(start, end));
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

/** How many rows `table` holds. */
async function countRows(client: pg.ClientBase, table: string): Promise<number> {
  const count = await client.query<{ n: string }>(`SELECT count(*) n FROM ${table}`);
  return Number(count.rows[0]?.n ?? 0);
}

/**
 * Deletes the older rows numbered `chosen` from `table`, each by its position, id and time (the key):
 * a row that only shares its position stays. The positions alone (`seq = ANY`) let the index on seq
 * find the candidates. Returns how many went: a row another prune took first is not counted.
 */
async function deleteRows(
  client: pg.ClientBase,
  table: string,
  older: SnapshotPlan["older"],
  chosen: Float64Array,
): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < chosen.length; i += DELETE_BATCH) {
    const batch = Array.from(chosen.subarray(i, i + DELETE_BATCH));
    const gone = await client.query(
      `DELETE FROM ${table} t USING unnest($1::bigint[], $2::text[], $3::bigint[]) AS p(seq, id, at)
       WHERE t.seq = ANY($1) AND t.seq = p.seq AND t.event_id = p.id AND t.occurred_at_ms = p.at`,
      [batch.map((r) => older.seqs[r]), batch.map((r) => older.ids[r]), batch.map((r) => older.times[r])],
    );
    deleted += gone.rowCount ?? 0;
  }
  return deleted;
}
