// The PostgreSQL store's seq has no unique index: rows put in from outside may share a genuine row's
// time and seq. `query` ordered pages by (time, seq) and its cursor named the last row's (time, seq),
// so a page ending inside such rows went on after all of them: `grpc-audit query --all --limit 1`
// listed 127 of 131 rows (limit 3: 130, limit 7: 128), and the viewer's pages likewise. Now the
// order ends in the event id (the primary key is (event_id, occurred_at_ms)), and so does the cursor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { decodeCursor, encodeCursor } from "../../src/store/page-cursor.js";
import type { AuditQuery } from "../../src/store/query.js";
import { recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";
import { buildViewer, startViewer } from "../ui/viewer.js";

let server: PostgresServer;
beforeAll(async () => {
  [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await server?.stop();
});

const COLUMNS =
  "event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id";

/** Puts in, at the position (seq) and time of the genuine row at `seq`, its event under the id `id`. */
async function forge(url: string, trail: readonly AuditEvent[], seq: number, id: string): Promise<void> {
  const event: AuditEvent = { ...(trail[seq - 1] as AuditEvent), eventId: id, chain: undefined };
  await withClient(url, (client) =>
    client.query(
      `INSERT INTO audit_events (seq, event_id, ${COLUMNS}, event) SELECT seq, $3, ${COLUMNS}, $2 FROM audit_events
       WHERE seq = $1 AND event_id NOT LIKE 'forged%'`,
      [seq, Buffer.from(encodeEvent(event)), id],
    ),
  );
}

/** A database holding the review's store: 120 mutations and their checkpoints (127 events). */
async function reviewStore(): Promise<{ url: string; trail: AuditEvent[] }> {
  const url = await server.createDatabase();
  const trail = await recordTrail(120, { checkpointEvery: 20 });
  const writer = await openPostgresStore({ connectionString: url });
  try {
    await writer.insert(trail);
  } finally {
    await writer.close();
  }
  return { url, trail };
}

/** The id of every row `query` lists following nextCursor, `limit` rows a page; each cursor must decode. */
async function pageAll(store: PostgresStore, filter: AuditQuery, limit: number): Promise<string[]> {
  const seen: string[] = [];
  for (let cursor: string | undefined, pages = 0; pages < 1000; pages++) {
    const page = await store.query(filter, cursor === undefined ? { limit } : { limit, cursor });
    expect(page.events.length).toBeLessThanOrEqual(limit);
    seen.push(...page.events.map((e) => e.eventId), ...(page.undecodable ?? []).map((r) => r.eventId));
    if (page.nextCursor === undefined) return seen;
    // What the viewer and `grpc-audit query --cursor` check before they page on.
    expect(() => decodeCursor(page.nextCursor as string)).not.toThrow();
    cursor = page.nextCursor;
  }
  throw new Error("query did not reach its last page in 1000 pages");
}

describe("a store with rows sharing a genuine row's time and seq", () => {
  let url: string;
  let trail: AuditEvent[];
  let store: PostgresStore;
  // The review's: one row at position 50, three at 100, each the genuine row's event under another id.
  const forged = new Map([
    ["forged-50-0", 50],
    ["forged-100-0", 100],
    ["forged-100-1", 100],
    ["forged-100-2", 100],
  ]);
  /** The id of every row whose event `matches`: genuine, and forged (as its genuine row's). */
  const idsWhere = (matches: (event: AuditEvent) => boolean) => [
    ...trail.filter(matches).map((e) => e.eventId),
    ...[...forged].filter(([, seq]) => matches(trail[seq - 1] as AuditEvent)).map(([id]) => id),
  ];
  const timeOf = (event: AuditEvent | undefined) => event?.occurredAt?.getTime() ?? Number.NaN;
  beforeAll(async () => {
    ({ url, trail } = await reviewStore());
    for (const [id, seq] of forged) await forge(url, trail, seq, id);
    store = await openPostgresStore({ connectionString: url, readonly: true });
  });
  afterAll(async () => {
    await store?.close();
  });

  it.each([1, 2, 3, 7])("query lists every row exactly once, %i a page", async (limit) => {
    const all = idsWhere(() => true).sort();
    expect(all).toHaveLength(131);
    expect((await pageAll(store, {}, limit)).sort()).toStrictEqual(all);
  });

  it.each([1, 2, 3, 7])(
    "query lists every matching row exactly once with filters, %i a page",
    async (limit) => {
      const [at50, at100] = [timeOf(trail[49]), timeOf(trail[99])];
      const target = trail[99]?.target;
      const filters: [AuditQuery, (event: AuditEvent) => boolean][] = [
        [{ type: "resource.mutation" }, (e) => e.detail?.$case === "resourceMutation"],
        [
          { targetType: target?.type ?? "", targetId: target?.id ?? "" },
          (e) => e.target?.type === target?.type && e.target?.id === target?.id,
        ],
        [{ from: new Date(at50), to: new Date(at100 + 1) }, (e) => timeOf(e) >= at50 && timeOf(e) <= at100],
      ];
      for (const [filter, matches] of filters) {
        const expected = idsWhere(matches).sort();
        expect(expected.filter((id) => id.startsWith("forged-")).length).toBeGreaterThan(0);
        expect((await pageAll(store, filter, limit)).sort(), JSON.stringify(filter)).toStrictEqual(expected);
      }
    },
  );

  it("lists a position's rows by descending event id; a cursor without an id goes on after all of them", async () => {
    const shared = idsWhere((e) => e === trail[99])
      .sort()
      .reverse(); // byte order: the ids are ASCII
    expect(shared).toHaveLength(4);
    expect((await pageAll(store, {}, 1)).filter((id) => shared.includes(id))).toStrictEqual(shared);
    // The cursor of earlier versions (time and seq only) still pages: after every row at seq 100.
    const old = await store.query({}, { limit: 5, cursor: encodeCursor(BigInt(timeOf(trail[99])), 100n) });
    expect(old.events.length).toBe(5);
    expect(old.events.filter((e) => shared.includes(e.eventId))).toStrictEqual([]);
  });

  it("refuses a cursor whose id is altered", async () => {
    const good = encodeCursor(1n, 100n, Buffer.from("ab"));
    const altered = Buffer.from(`${Buffer.from(good, "base64url").toString()}0`).toString("base64url");
    await expect(store.query({}, { limit: 1, cursor: altered })).rejects.toThrow(
      "audit query: the cursor is not one this store made",
    );
  });

  // Review R120: an id with U+0000 reached PostgreSQL ("invalid byte sequence", exit 1, the viewer's
  // HTTP 500); invalid UTF-8 was taken.
  it.each([
    ["U+0000", "00"],
    ["invalid UTF-8", "ff"],
  ])("refuses a cursor whose id holds %s", async (_, hex) => {
    const cursor = Buffer.from(`1:100:i${hex}`).toString("base64url");
    await expect(store.query({}, { limit: 1, cursor })).rejects.toThrow(
      "audit query: the cursor is not one this store made",
    );
  });

  it.each([1, 3, 7])("grpc-audit query --all --limit %i prints every row once", async (limit) => {
    const run = await runCli(["query", "--db", url, "--all", "--limit", String(limit), "--ndjson"]);
    expect(run.code).toBe(0);
    const ids = run.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { eventId: string }).eventId);
    expect(ids.sort()).toStrictEqual(idsWhere(() => true).sort());
  });

  it.each([1, 3])(
    "the viewer's /api/events lists every row once following nextCursor, %i a page",
    async (limit) => {
      await buildViewer();
      const viewer = await startViewer(["--db", url]);
      try {
        const ids: string[] = [];
        for (let cursor: string | undefined, pages = 0; pages < 1000; pages++) {
          const query = new URLSearchParams({
            limit: String(limit),
            ...(cursor === undefined ? {} : { cursor }),
          });
          const response = await fetch(new URL(`/api/events?${query}`, viewer.url));
          expect(response.status).toBe(200);
          const page = (await response.json()) as {
            events: { eventId: string }[];
            nextCursor: string | null;
          };
          ids.push(...page.events.map((e) => e.eventId));
          if (page.nextCursor === null) break; // JSON has no undefined
          cursor = page.nextCursor;
        }
        expect(ids.sort()).toStrictEqual(idsWhere(() => true).sort());
      } finally {
        await viewer.stop();
      }
    },
  );
});

it("pages past ids beyond ASCII in byte order, whatever they hold", async () => {
  const { url, trail } = await reviewStore();
  // U+FFFD is what the columns hold for U+0000; byte order puts "é" (C3 A9) before "東" (E6 9D B1).
  const ids = ["forged-é", "forged-東京", "forged-\uFFFD", "forged-e", "forged-:i00"];
  for (const id of ids) await forge(url, trail, 60, id);
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const expected = [...trail.map((e) => e.eventId), ...ids].sort();
    for (const limit of [1, 2, 3]) expect((await pageAll(store, {}, limit)).sort()).toStrictEqual(expected);
    const atSixty = [trail[59]?.eventId, ...ids].sort((x = "", y = "") =>
      Buffer.compare(Buffer.from(y), Buffer.from(x)),
    );
    expect((await pageAll(store, {}, 1)).filter((id) => atSixty.includes(id))).toStrictEqual(atSixty);
  } finally {
    await store.close();
  }
});

// Review R121: a row put in with an empty id got a cursor the store then refused (`query --all` exit
// 2), and one with an id over 1 KiB, left out of its cursor, hid the genuine row at its position.
// A cursor now carries such an id's first whole characters within 1 KiB: its URL stays short.
it("pages past rows put in with an empty id or one longer than a cursor carries", async () => {
  const { url, trail } = await reviewStore();
  const long = `forged-${"z".repeat(1100)}`;
  // The empty id last: `forge` copies every row at the position whose id is not a forged one.
  const ids = [long, `forged-${"é".repeat(600)}`, ""];
  for (const id of ids) await forge(url, trail, 3, id);
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const expected = [...trail.map((e) => e.eventId), ...ids].sort();
    for (const limit of [1, 2, 3, 4])
      expect((await pageAll(store, {}, limit)).sort()).toStrictEqual(expected);
    const cursor = encodeCursor(1n, 3n, Buffer.from(long));
    expect([cursor.length < 3000, decodeCursor(cursor).id?.length]).toStrictEqual([true, 1024]);
  } finally {
    await store.close();
  }
});

it("verify names the first ids of a position many rows share and counts the rest", async () => {
  const { url, trail } = await reviewStore();
  const forged = Array.from({ length: 1500 }, (_, i) => `forged-${String(i).padStart(4, "0")}`);
  const events = forged.map((eventId) =>
    Buffer.from(encodeEvent({ ...(trail[49] as AuditEvent), eventId, chain: undefined })),
  );
  await withClient(url, (client) =>
    client.query(
      `INSERT INTO audit_events (seq, event_id, ${COLUMNS}, event)
       SELECT g.seq, f.id, ${COLUMNS}, f.event FROM audit_events g, unnest($2::text[], $3::bytea[]) f(id, event)
       WHERE g.seq = $1`,
      [50, forged, events],
    ),
  );
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    for await (const _ of storeEvents(store, tally)) {
      // read them all
    }
    const ids = [trail[49]?.eventId ?? "", ...forged].sort();
    expect(tally.unreadable).toStrictEqual([
      {
        where: `row 50 (events ${ids.slice(0, 5).join(", ")} and 1,496 more)`,
        reason:
          "1501 rows at one position, which the store gives one row only: put in or moved there from outside",
      },
    ]);
  } finally {
    await store.close();
  }
});
