import { type AuditStats, IN_DATE_RANGE, type Where } from "../store/query.js";
import type { NextPosition } from "../store/store-reads.js";
import { EVENTS_TABLE } from "./schema.js";

/** Numbers the `?` placeholders of `sql` (as `buildWhere` writes them) as PostgreSQL's $1, $2, ... @internal */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The store's stats for the events `where` selects: the SQLite store's counts, in PostgreSQL; `read`
 * runs one statement (given `?` numbered) and resolves to its rows.
 * @internal
 */
export async function queryStats(
  read: (sql: string, params: unknown[]) => Promise<Record<string, string>[]>,
  where: Where,
): Promise<AuditStats> {
  const all = (sql: string) => read(numbered(sql), where.params);
  const counts = (rows: Record<string, string>[]) =>
    Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
  const whereAnd = (extra: string) =>
    where.clauses.length === 0 ? `WHERE ${extra}` : `${where.sql()} AND ${extra}`;
  const from = `FROM ${EVENTS_TABLE}`;
  // Ties and keys in byte order (COLLATE "C"), as the SQLite store gives them, whatever the database's
  // collation: under a linguistic one (en_US.UTF-8, ICU) the 10 top operations of equal counts would differ.
  // One after another: at once, the six would take every connection of the pool (the CLI's has two),
  // and those waiting behind slow ones failed at connectTimeoutMs ("no connection"), not queryTimeoutMs.
  const [total, byType, byResult, byDecision, topOperations, perHour] = await inTurn([
    () => all(`SELECT count(*) n ${from} ${where.sql()}`),
    () =>
      all(
        `SELECT event_type k, count(*) n ${from} ${where.sql()} GROUP BY k ORDER BY event_type COLLATE "C"`,
      ),
    () =>
      all(
        `SELECT CASE WHEN success THEN 'success' ELSE 'failure' END k, count(*) n ${from} ${where.sql()} GROUP BY k ORDER BY k`,
      ),
    () =>
      all(
        `SELECT decision k, count(*) n ${from} ${whereAnd("decision != ''")} GROUP BY k ORDER BY decision COLLATE "C"`,
      ),
    () =>
      all(
        `SELECT operation, count(*) n ${from} ${whereAnd("operation != ''")} GROUP BY operation ORDER BY n DESC, operation COLLATE "C" LIMIT 10`,
      ),
    // Integer division truncates toward zero: 1 off a negative remainder (floor), else an event before
    // 1970 counts in the hour after it (as in the SQLite store). Only times a Date holds: a row in a
    // partition added from outside beyond ±8.64e15 ms is no hour toISOString can write (it throws).
    () =>
      all(
        `SELECT occurred_at_ms / 3600000 - (occurred_at_ms % 3600000 < 0)::int h, count(*) n ${from} ${whereAnd(IN_DATE_RANGE)} GROUP BY h ORDER BY h`,
      ),
  ]);
  return {
    total: Number(total[0]?.n ?? 0),
    byType: counts(byType),
    byResult: counts(byResult),
    byDecision: counts(byDecision),
    topOperations: topOperations.map((r) => ({ operation: String(r.operation), count: Number(r.n) })),
    perHour: perHour.map((r) => ({
      hour: new Date(Number(r.h) * 3_600_000).toISOString(),
      count: Number(r.n),
    })),
  };
}

/** Runs `steps` one after another; their results in order. */
async function inTurn<T>(steps: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  for (const step of steps) results.push(await step());
  return results;
}

/** 2^53 - 1, the highest position a page reads (see `IN_POSITION_RANGE`). */
const LAST_POSITION = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The position the store's sequence gives its next row, when that is wrong: above 2^53 - 1 (the row
 * is stored where no query or tail reads it), below 1, or past the sequence's own maximum (nextval
 * fails: every insert is refused). Only a change from outside (`setval`, `ALTER SEQUENCE`) puts it
 * there. A role that may not read the sequence (readers need SELECT on the tables only) leaves it
 * `unchecked`. `read` runs one statement.
 * @internal
 */
export async function nextPosition(
  read: (sql: string, params: unknown[]) => Promise<Record<string, string | boolean | null>[]>,
): Promise<NextPosition | undefined> {
  // pg_sequence_last_value fails without the right, hence the CASE; it is null before the first nextval.
  const [row] = await read(
    `SELECT s.seqrelid::regclass::text AS name, has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') AS readable,
       CASE WHEN has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') THEN pg_sequence_last_value(s.seqrelid)::text END AS last,
       s.seqstart::text AS start, s.seqincrement::text AS step, s.seqmax::text AS max
     FROM pg_sequence s WHERE s.seqrelid = to_regclass(pg_get_serial_sequence($1, 'seq'))`,
    [EVENTS_TABLE],
  );
  if (row === undefined) return undefined; // no sequence gives positions: inserts fail, naming it
  const name = String(row.name);
  if (row.readable !== true)
    return { unchecked: `the next position was not checked: this role may not read the sequence ${name}` };
  const next =
    row.last === null ? BigInt(String(row.start)) : BigInt(String(row.last)) + BigInt(String(row.step));
  const max = BigInt(String(row.max));
  if (next >= 1n && next <= LAST_POSITION && next <= max) return undefined;
  const why =
    next > max
      ? `is past the sequence's maximum (${max}): the store refuses every new event`
      : `is outside 1 to 2^53 - 1: the store stores every new event where no query or tail reads it`;
  // bigserial's own sequence counts up by 1 to 2^63 - 1: anything else was altered too.
  const altered = row.step !== "1" || max < LAST_POSITION;
  return {
    where: "the store",
    problem:
      `its next position (${next}, from the sequence ${name}) ${why}; changed from outside. ` +
      `Move rows outside that range back, then set it back: ${altered ? `ALTER SEQUENCE ${name} INCREMENT BY 1 NO MAXVALUE; ` : ""}` +
      `SELECT setval('${name}', (SELECT greatest(coalesce(max(seq), 0), 0) + 1 FROM ${EVENTS_TABLE} WHERE seq <= ${LAST_POSITION}), false)`,
  };
}
