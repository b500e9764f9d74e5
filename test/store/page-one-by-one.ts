import { expect } from "vitest";
import { decodeCursor } from "../../src/store/page-cursor.js";
import type { AuditPage, PageOptions } from "../../src/store/query.js";

/**
 * The id of every row `query` lists, one row a page from the first page on (undecodable rows too),
 * for a store of at most `rows` rows: the SQLite store's `query` and the PostgreSQL store's alike.
 * Each cursor must decode, as the viewer and `grpc-audit query --cursor` check before they page on.
 */
export async function pageOneByOne(
  query: (page: PageOptions) => AuditPage | Promise<AuditPage>,
  rows: number,
): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page <= rows; page++) {
    const { events, undecodable, nextCursor } = await query(
      cursor === undefined ? { limit: 1 } : { limit: 1, cursor },
    );
    seen.push(...events.map((e) => e.eventId), ...(undecodable ?? []).map((row) => row.eventId));
    if (nextCursor === undefined) break;
    expect(() => decodeCursor(nextCursor)).not.toThrow();
    cursor = nextCursor;
  }
  return seen;
}
