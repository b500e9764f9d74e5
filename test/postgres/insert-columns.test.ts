// The INSERT's parameters are array literals the store writes itself (not pg's conversion): every
// string must arrive as it was, whatever it holds — quotes, backslashes, braces, commas, spaces, the
// word NULL, U+0000 (stored as U+FFFD), characters beyond the BMP — through both ways into the store:
// insert(events) and the ingester's insertColumns (columns read from the protobuf bytes).
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
const ODD = ['"', "\\", '\\"', "{a,b}", "a, b", " padded ", "NULL", "", "nul\u0000here", "é 😀", "}{\"'\t\n"];

/** Events whose every text column holds one odd string, one event per string and way in. */
function oddEvents(prefix: string) {
  return ODD.map((odd, i) =>
    sampleEvent({
      eventId: `${prefix}-${i}-${odd}`,
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

describe("insert parameters", () => {
  it("keep every string as it was, through insert and through insertColumns", async () => {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const viaInsert = oddEvents("insert");
    const viaColumns = oddEvents("columns");
    expect(await store.insert(viaInsert)).toBe(ODD.length);
    const columns = createEventColumns();
    for (const e of viaColumns) expect(readEventColumns(columns, encodeEvent(e))).toBeUndefined();
    expect(await store.insertColumns(columns)).toBe(ODD.length);
    const rows = await withClient(url, (c) =>
      c.query(`SELECT ${COLUMNS} FROM audit_events ORDER BY event_id`),
    );
    const clean = (text: string) => text.replaceAll("\u0000", "\uFFFD");
    const expected = [...viaColumns, ...viaInsert].map((e) => ({
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
      [...viaColumns, ...viaInsert].map((e) => bytes(encodeEvent(e))).sort(),
    );
    await store.close();
  });
});
