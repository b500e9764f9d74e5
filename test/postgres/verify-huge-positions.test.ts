// The PostgreSQL store read positions as JavaScript numbers too: a row moved (or put) above 2^53 - 1
// made a page end at a rounded position, so rows after it were never verified. Such rows are named
// as modified; verify and query read the rows below, each once.
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

/** 2^62: positions there are 1024 apart as JavaScript numbers. */
const P = 2n ** 62n;

async function queried(store: PostgresStore, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({}, cursor === undefined ? { limit } : { limit, cursor });
    ids.push(...page.events.map((event) => event.eventId));
    cursor = page.nextCursor;
    if (ids.length > 10_000) throw new Error("query pages do not end");
  } while (cursor !== undefined);
  return ids;
}

it("names every row above position 2^53 - 1 as modified and verifies the rows below it", async () => {
  const url = await server.createDatabase();
  const trail = await recordTrail(1200, { checkpointEvery: 100 });
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(trail);
  await writer.close();
  const model = trail[0] as AuditEvent;
  const forged: AuditEvent = { ...model, eventId: "forged", chain: undefined };
  await withClient(url, async (client) => {
    await client.query("UPDATE audit_events SET seq = seq + $1::bigint WHERE seq > 1000", [
      String(P + 2048n),
    ]);
    await client.query(
      "INSERT INTO audit_events (seq, event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event) SELECT $1::bigint, 'forged', event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, $2 FROM audit_events WHERE seq = 1",
      [String(P + 3010n), Buffer.from(encodeEvent(forged))],
    );
  });

  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), { publicKeys: PUBLIC_KEYS });
    expect(report.chains.map((chain) => [chain.events, chain.lastSeq, chain.findings])).toStrictEqual([
      [1000, 1000, []],
    ]);
    const above = trail
      .slice(1000)
      .map((event, i) => [P + 2048n + 1001n + BigInt(i), event.eventId] as const);
    above.unshift([P + 3010n, "forged"]);
    expect(tally.unreadable).toStrictEqual(
      above.map(([seq, eventId]) => ({
        where: `a row above position 2^53 - 1 (event ${eventId})`,
        reason: `its position (seq ${seq}) is above 2^53 - 1, which the store never gives a row and cannot page past: it was moved or put there from outside`,
      })),
    );
    expect((await queried(store, 7)).sort()).toStrictEqual(
      trail
        .slice(0, 1000)
        .map((e) => e.eventId)
        .sort(),
    );
  } finally {
    await store.close();
  }
});
