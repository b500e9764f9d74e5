// A prune plans without the writers' lock: an ingester's insert while it reads is neither blocked nor
// deleted, and the chain it lands in still verifies. Partitions whose every row is planned are dropped
// whole (no row is deleted from them), one with a kept row stays.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { withoutOrder } from "../../src/cli/commands/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { KEY_ID, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const FEB = Date.parse("2026-02-01T00:00:00Z");
/** 20 mutations and their checkpoints (seqs 5, 10, ...) from 5 minutes before February, 2 a minute. */
async function trailOverMonths(): Promise<AuditEvent[]> {
  let tick = 0;
  return recordTrail(20, {
    checkpointEvery: 4,
    recorder: { now: () => new Date(FEB - 5 * 60_000 + Math.floor(tick++ / 2) * 60_000) },
  });
}

/** An event without a chain, in December 2025: the only row of its partition. */
function december(trail: readonly AuditEvent[]): AuditEvent {
  const { chain: _, ...event } = trail[1] as AuditEvent;
  return { ...event, eventId: "december-1", occurredAt: new Date("2025-12-15T00:00:00Z") };
}

/** The partitions of this test's months (not the current and next, which the store makes when it opens). */
async function partitions(url: string): Promise<string[]> {
  const result = await withClient(url, (c) =>
    c.query<{ name: string }>(
      "SELECT c.relname name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass AND c.relname < 'audit_events_202603' ORDER BY 1",
    ),
  );
  return result.rows.map((r) => r.name);
}

/** Resolves once some session of `url`'s database waits for a lock of the kind `event` (pg_stat_activity). */
async function someoneWaits(url: string, event: "relation" | "advisory"): Promise<void> {
  for (;;) {
    const waiting = await withClient(url, (c) =>
      c.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = $1",
        [event],
      ),
    );
    if (waiting.rowCount !== 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function verifyPg(store: Parameters<typeof storeEvents>[0]) {
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(storeEvents(store, tally), {
    publicKeys: PUBLIC_KEYS,
    expectSealed: true,
  });
  // Out of seq order is how an ingester stores a late event: not a finding here.
  return {
    findings: withoutOrder(report.chains).flatMap((c) => c.findings),
    pruned: report.chains[0]?.pruned,
  };
}

describe("prune beside an ingester", () => {
  it("an insert while the prune reads is neither blocked nor deleted, and the chain still verifies", async () => {
    const trail = await trailOverMonths();
    const late = trail[6] as AuditEvent; // seq 7, a January event an ingester delivers late
    expect([late.chain?.seq, (late.occurredAt?.getTime() ?? 0) < FEB]).toStrictEqual([7, true]);
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    const ingester = await openPostgresStore({ connectionString: url, poolSize: 1 });
    const holder = await import("pg").then(({ default: pg }) => new pg.Client({ connectionString: url }));
    await holder.connect();
    try {
      // Through the ingester: it then knows every partition and creates none during the prune.
      await ingester.insert([december(trail), ...trail.filter((e) => e !== late)]);
      // The plan's read waits behind this lock on December's partition, which the insert does not touch.
      await holder.query("BEGIN; LOCK TABLE audit_events_202512 IN ACCESS EXCLUSIVE MODE");
      const pruning = store.pruneReport({ before: new Date(FEB) });
      await someoneWaits(url, "relation");
      const inserted = ingester.insert([late]).then(() => "inserted" as const);
      const outcome = await Promise.race([inserted, someoneWaits(url, "advisory").then(() => "blocked")]);
      await holder.query("ROLLBACK");
      expect(outcome).toBe("inserted");
      // Seq 7 stored meanwhile ends the prefix: it goes up to checkpoint 5, not 10, and 7 stays.
      expect(await pruning).toStrictEqual({
        deleted: 5,
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 0, arrived: 4 }, // 7 and 8 to 10
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 1,
      });
      const { events } = await store.tail(0, 100);
      // In insertion order: the late one last.
      const after7 = trail.slice(7).map((e) => e.chain?.seq);
      expect(events.map((e) => e.chain?.seq)).toStrictEqual([5, 6, ...after7, 7]);
      expect(await verifyPg(store)).toStrictEqual({
        findings: [],
        pruned: { toSeq: 4, anchorSeq: 5, keyId: KEY_ID },
      });
    } finally {
      await holder.end();
      await Promise.all([store.close(), ingester.close()]);
    }
  });

  it("drops a partition whose every row is planned without deleting its rows; one with a kept row stays", async () => {
    const trail = await trailOverMonths();
    const url = await server.createDatabase();
    const store = await openPostgresStore({ connectionString: url });
    try {
      await store.insert([december(trail), ...trail]);
      // Every row deleted one by one is logged: a dropped table's rows are not.
      await withClient(url, (c) =>
        c.query(`CREATE TABLE deleted_rows (seq bigint);
          CREATE FUNCTION log_delete() RETURNS trigger LANGUAGE plpgsql AS
            'BEGIN INSERT INTO deleted_rows VALUES (OLD.seq); RETURN OLD; END';
          CREATE TRIGGER log_delete AFTER DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION log_delete()`),
      );
      expect((await store.pruneReport({ before: new Date(FEB) })).deleted).toBe(10); // December's 1, seqs 1 to 9
      expect(await partitions(url)).toStrictEqual(["audit_events_202601", "audit_events_202602"]);
      const logged = await withClient(url, (c) =>
        c.query<{ n: string }>("SELECT count(*) n FROM deleted_rows"),
      );
      expect(Number(logged.rows[0]?.n)).toBe(9);
      expect(await verifyPg(store)).toStrictEqual({
        findings: [],
        pruned: { toSeq: 9, anchorSeq: 10, keyId: KEY_ID },
      });
    } finally {
      await store.close();
    }
  });
});
