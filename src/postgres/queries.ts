import { type AuditStats, IN_DATE_RANGE, type Where } from "../store/query.js";
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
  const [total, byType, byResult, byDecision, topOperations, perHour] = await Promise.all([
    all(`SELECT count(*) n ${from} ${where.sql()}`),
    all(`SELECT event_type k, count(*) n ${from} ${where.sql()} GROUP BY k ORDER BY event_type COLLATE "C"`),
    all(
      `SELECT CASE WHEN success THEN 'success' ELSE 'failure' END k, count(*) n ${from} ${where.sql()} GROUP BY k ORDER BY k`,
    ),
    all(
      `SELECT decision k, count(*) n ${from} ${whereAnd("decision != ''")} GROUP BY k ORDER BY decision COLLATE "C"`,
    ),
    all(
      `SELECT operation, count(*) n ${from} ${whereAnd("operation != ''")} GROUP BY operation ORDER BY n DESC, operation COLLATE "C" LIMIT 10`,
    ),
    // Integer division truncates toward zero: 1 off a negative remainder (floor), else an event before
    // 1970 counts in the hour after it (as in the SQLite store). Only times a Date holds: a row in a
    // partition added from outside beyond ±8.64e15 ms is no hour toISOString can write (it throws).
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
