import type { ClientBase } from "pg";
import { EVENTS_TABLE, LOCKS } from "./schema.js";

/** PostgreSQL's insufficient_privilege: the role may not create tables in the schema or attach partitions. @internal */
export const INSUFFICIENT_PRIVILEGE = "42501";
/** PostgreSQL's lock_not_available: `lock_timeout` expired (attaching waited too long for the events table). @internal */
export const LOCK_NOT_AVAILABLE = "55P03";

/** One monthly partition: its table name and the [from, to) range of `occurred_at_ms` it holds. @internal */
export interface Partition {
  name: string;
  fromMs: number;
  toMs: number;
}

/** The UTC month holding `ms`, as a partition. @internal */
export function partitionOf(ms: number): Partition {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  // Years before 0 (a broken clock) get an "n" instead of "-": a table name has no minus sign.
  const label = `${year < 0 ? `n${-year}` : String(year).padStart(4, "0")}${String(month + 1).padStart(2, "0")}`;
  return {
    name: `${EVENTS_TABLE}_${label}`,
    fromMs: monthStart(year, month) ?? -MAX_DATE_MS,
    toMs: monthStart(year, month + 1) ?? MAX_DATE_MS + 1,
  };
}

/** The month after `p`, or undefined after the last month Date holds. @internal */
export function nextPartition(p: Partition): Partition | undefined {
  return p.toMs > MAX_DATE_MS ? undefined : partitionOf(p.toMs);
}

/** The farthest a Date reaches from the epoch, in ms (either way). */
const MAX_DATE_MS = 8.64e15;

/**
 * The first ms of a UTC month (`month` may be 12: January of the next year), or undefined beyond the
 * range of Date (the first and last months it holds only in part). Not Date.UTC: it takes years 0–99
 * as 1900–1999, so protobuf's smallest Timestamp (0001-01-01) would get a partition of 1901.
 */
function monthStart(year: number, month: number): number | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 1);
  const ms = date.getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The partitions `times` fall in that `known` does not list. @internal */
export function missingPartitions(times: Iterable<number>, known: ReadonlySet<string>): Partition[] {
  const needed = new Map<string, Partition>();
  // The range of the last partition looked up: a batch's times mostly fall in one month.
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const ms of times) {
    if (ms >= fromMs && ms < toMs) continue;
    const partition = partitionOf(ms);
    ({ fromMs, toMs } = partition);
    if (!known.has(partition.name)) needed.set(partition.name, partition);
  }
  return [...needed.values()];
}

/**
 * Creates those of `needed` the catalog does not hold, inside the caller's transaction, and adds all
 * of them to `known`. Takes the partitions' advisory lock (not the writers'), so two processes never
 * create the same one at once while inserts into existing months go on. Issues no CREATE for a month
 * that exists: a writer role without CREATE rights writes into the months made for it.
 * @internal
 */
export async function ensurePartitions(
  client: ClientBase,
  needed: readonly Partition[],
  known: Set<string>,
): Promise<void> {
  if (needed.length === 0) return;
  await client.query("SELECT pg_advisory_xact_lock($1)", [LOCKS.partitions]);
  const listed = await listPartitions(client);
  for (const p of needed) {
    if (!isListed(listed, p)) {
      // Made apart, then attached: ATTACH takes a lock on the events table that readers and inserts do
      // not conflict with, where `CREATE TABLE … PARTITION OF` waits for them all and holds them up.
      await client.query(`CREATE TABLE ${p.name} (LIKE ${EVENTS_TABLE})`);
      await client.query(
        `ALTER TABLE ${EVENTS_TABLE} ATTACH PARTITION ${p.name} FOR VALUES FROM (${p.fromMs}) TO (${p.toMs})`,
      );
    }
  }
  for (const p of needed) known.add(p.name);
}

/** True when `listed` (the catalog's partitions) holds `p`: by its name, or one whose range covers it. @internal */
export function isListed(listed: readonly Partition[], p: Partition): boolean {
  return listed.some((l) => l.name === p.name || (l.fromMs <= p.fromMs && l.toMs >= p.toMs));
}

/** A partition as the catalog lists it: with its table's oid. @internal */
export interface ListedPartition extends Partition {
  oid: number;
}

/** The partitions of the events table with the range each holds, read from the catalog. @internal */
export async function listPartitions(client: ClientBase): Promise<ListedPartition[]> {
  const rows = await client.query<{ name: string; bound: string; oid: string }>(
    `SELECT c.relname name, pg_get_expr(c.relpartbound, c.oid) bound, c.oid::int8 oid
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [EVENTS_TABLE],
  );
  return rows.rows.flatMap((row) => {
    const match = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(row.bound);
    if (match === null) return [];
    return [{ name: row.name, fromMs: Number(match[1]), toMs: Number(match[2]), oid: Number(row.oid) }];
  });
}
