// A store gives its rows the positions 1, 2, ... A row moved (or put) at a position above 2^53 - 1 was
// read as a rounded JavaScript number: a page ended at a position it had not read, so the rows between
// were never verified (a forged row among them passed as "no findings") while queries showed them.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents, type TailSource } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { tempDir } from "./helpers.js";

/** 2^62: positions there are 1024 apart as JavaScript numbers. */
const P = 2n ** 62n;

/** Every event id a query shows, a page of `limit` at a time. */
function queried(store: Pick<AuditStore, "query">, limit: number): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = store.query({}, cursor === undefined ? { limit } : { limit, cursor });
    ids.push(...page.events.map((event) => event.eventId));
    cursor = page.nextCursor;
    if (ids.length > 10_000) throw new Error("query pages do not end");
  } while (cursor !== undefined);
  return ids;
}

it("names every row above position 2^53 - 1 as modified and verifies the rows below it", async () => {
  const path = join(tempDir(), "audit.db");
  const trail = await recordTrail(1200, { checkpointEvery: 100 });
  const store = openAuditStore({ path });
  store.insert(trail);
  store.close();
  const db = new BetterSqlite3(path);
  const model = trail[0] as AuditEvent;
  const forged: AuditEvent = { ...model, eventId: "forged", chain: undefined };
  db.prepare("UPDATE events SET seq = seq + ? WHERE seq > 1000").run(P + 2048n);
  db.prepare(
    "INSERT INTO events (seq, event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, event) SELECT ?, 'forged', event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, ? FROM events WHERE seq = 1",
  ).run(P + 3010n, encodeEvent(forged));
  db.close();

  const readonly = openAuditStore({ path, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(readonly, tally), { publicKeys: PUBLIC_KEYS });
    expect(report.chains.map((chain) => [chain.events, chain.lastSeq, chain.findings])).toStrictEqual([
      [1000, 1000, []],
    ]);
    expect(report.unchained).toBe(0);
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
    // Queries page through the rows they can page through, each once; verify names the others.
    expect(queried(readonly, 7).sort()).toStrictEqual(
      trail
        .slice(0, 1000)
        .map((e) => e.eventId)
        .sort(),
    );
    expect(readonly.stats().total).toBe(trail.length + 1); // stats count them
  } finally {
    readonly.close();
  }
});

it("refuses a page that holds events but ends where it started, instead of stopping there", async () => {
  const trail = await recordTrail(3, { open: true });
  let pages = 0;
  const source: TailSource = {
    tail: (afterSeq) => {
      pages++;
      return {
        events: pages === 1 ? trail.slice(0, 2) : trail.slice(2),
        lastSeq: pages === 1 ? 2 : afterSeq,
      };
    },
  };
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  await expect(verifyChains(storeEvents(source, tally))).rejects.toThrow(
    "cannot read the store: a page of 1 row after position 2 ends at position 2, not a position past it that the next page can start after (2^53 - 1 at most)",
  );
});
