// A batch goes in as binary COPY data the store writes itself, and a redelivered one as an INSERT
// whose parameters are array literals the store writes too (not pg's conversion): every string must
// arrive as it was, whatever it holds — quotes, backslashes, braces, commas, spaces, tabs and line
// ends, the word NULL and COPY's text markers, U+0000 (stored as U+FFFD; outside the event id), 2-, 3- and 4-byte UTF-8 —
// through both ways into the store (insert(events) and the ingester's insertColumns, columns read
// from the protobuf bytes) and both statements.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventColumns } from "../../src/event/event-columns.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { readEventColumns } from "../../src/event/wire-columns.js";
import { type Actor, AuthzDecision, type AuthzDetail } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const DENIED = AuthzDecision.AUTHZ_DECISION_DENIED;
// biome-ignore format: one list
const ODD = ['"', "\\", '\\"', "{a,b}", "a, b", " padded ", "NULL", "\\N", "\\.", "", "nul\u0000here", "é 😀", "naïve", "日本語 𝄞", "}{\"'\t\n", "a\r\nb"];

/** Events whose every text column holds one odd string, one event per string and way in. */
function oddEvents(prefix: string) {
  return ODD.map((odd, i) =>
    sampleEvent({
      // U+0000 in an id is refused (refused-rows.test.ts); U+FFFD in its place is an id as any.
      eventId: `${prefix}-${i}-${odd.replaceAll("\u0000", "\uFFFD")}`,
      occurredAt: new Date(Date.UTC(2026, i % 12, 1 + i)),
      service: odd,
      operation: odd,
      actor: { ...(sampleEvent().actor as Actor), id: odd },
      target: { type: odd, id: `${odd}|id`, name: "" },
      result: { success: i % 2 === 0, code: odd, message: "" },
      requestId: odd,
      traceId: odd,
      detail: {
        $case: "authz",
        value: { ...(sampleEvent().detail?.value as AuthzDetail), decision: DENIED },
      },
    }),
  );
}

const COLUMNS =
  "event_id, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id";

describe("COPY data and INSERT parameters", () => {
  it("keep every string as it was, through insert and through insertColumns", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const viaInsert = oddEvents("insert");
    const viaColumns = oddEvents("columns");
    expect(await store.insert(viaInsert)).toBe(ODD.length);
    const columns = createEventColumns();
    for (const e of viaColumns) expect(readEventColumns(columns, encodeEvent(e))).toBeUndefined();
    expect(await store.insertColumns(columns)).toBe(ODD.length);
    // A redelivery: the COPY fails on the stored ids, the INSERT skipping them stores the rest.
    const again = oddEvents("again");
    expect(await store.insert([...viaInsert.slice(0, 2), ...again])).toBe(ODD.length);
    const rows = await withClient(url, (c) =>
      c.query(`SELECT ${COLUMNS} FROM audit_events ORDER BY event_id`),
    );
    const clean = (text: string) => text.replaceAll("\u0000", "\uFFFD");
    const expected = [...again, ...viaColumns, ...viaInsert].map((e) => ({
      event_id: clean(e.eventId),
      occurred_at_ms: String(e.occurredAt?.getTime()),
      service: clean(e.service),
      operation: clean(e.operation),
      actor_id: clean(e.actor?.id ?? ""),
      target_type: clean(e.target?.type ?? ""),
      target_id: clean(e.target?.id ?? ""),
      success: e.result?.success,
      code: clean(e.result?.code ?? ""),
      decision: "denied",
      request_id: clean(e.requestId),
      trace_id: clean(e.traceId),
    }));
    expected.sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
    expect(rows.rows).toStrictEqual(expected);
    // The events' bytes are stored as they were encoded, cut at the right offsets.
    const stored = await withClient(url, (c) => c.query<{ event: Buffer }>("SELECT event FROM audit_events"));
    const bytes = (b: Uint8Array) => Buffer.from(b).toString("hex");
    expect(stored.rows.map((r) => bytes(r.event)).sort()).toStrictEqual(
      [...again, ...viaColumns, ...viaInsert].map((e) => bytes(encodeEvent(e))).sort(),
    );
    await store.close();
  });
});
