// The PostgreSQL store's seq is a bigserial without a unique index: someone with write access gave a
// forged row the position of a genuine one. A page ending at that position went on after it, so the
// other row was never read: `verify --sealed` said "no findings" for a trail holding a chainless
// forged event, which `query` showed. A sequence raised (setval) past 2^53 - 1 hides every new row
// from query and tail, yet verify passed until a row came.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { KEY_ID, PUBLIC_KEY, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await server?.stop();
});

const COLUMNS =
  "event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id";

/** A store holding `trail`, and a chainless forged event put in at the position `seq` of a genuine row. */
async function withForgedRow(trail: readonly AuditEvent[], seq: number): Promise<string> {
  const url = await server.createDatabase();
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(trail);
  await writer.close();
  // The genuine row's event without its chain, under another id: its columns are the row's.
  const forged: AuditEvent = { ...(trail[seq - 1] as AuditEvent), eventId: "forged", chain: undefined };
  await withClient(url, async (client) => {
    await client.query(
      `INSERT INTO audit_events (seq, event_id, ${COLUMNS}, event) SELECT seq, 'forged', ${COLUMNS}, $2 FROM audit_events WHERE seq = $1`,
      [seq, Buffer.from(encodeEvent(forged))],
    );
  });
  return url;
}

it("reads every row of a position two rows share, across a page's end, and names them modified", async () => {
  const trail = await recordTrail(1100, { checkpointEvery: 100 });
  const url = await withForgedRow(trail, 1000);
  const genuine = trail[999] as AuditEvent;
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    // Both rows at 1000 read: the chain is whole, and the forged event is the one without a chain.
    expect(
      report.chains.map((chain) => [chain.events, chain.lastSeq, chain.sealed, chain.findings]),
    ).toStrictEqual([[trail.length, trail.length, true, []]]);
    expect([report.unchained, report.findings.map((f) => f.kind)]).toStrictEqual([1, ["unchained"]]);
    const ids = [genuine.eventId, "forged"].sort();
    expect(tally.unreadable).toStrictEqual([
      {
        where: `row 1000 (events ${ids.join(", ")})`,
        reason:
          "2 rows at one position, which the store gives one row only: put in or moved there from outside",
      },
    ]);

    // Every reader of tail: a page never ends inside a position's rows, so paging skips none.
    const read: string[] = [];
    for (let after = 0; ; ) {
      const page = await store.tail(after, 8); // pages end at 8, 16, ..., 1000
      if (page.events.length === 0) break;
      read.push(...page.events.map((event) => event.eventId));
      after = page.lastSeq;
    }
    expect(read.sort()).toStrictEqual([...trail.map((event) => event.eventId), "forged"].sort());
  } finally {
    await store.close();
  }
});

it("grpc-audit verify --sealed fails on a forged row at a genuine row's position", async () => {
  const trail = await recordTrail(1100, { checkpointEvery: 100 });
  const url = await withForgedRow(trail, 1000);
  const keyFile = join(tempDir(), "key.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const run = await runCli(["verify", "--db", url, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"]);
  expect(run.code).toBe(12); // unchained, the worst; the shared position is modified
  expect(run.stdout).toContain("modified row 1000 (events ");
  expect(run.stdout).toContain("2 rows at one position, which the store gives one row only");
  expect(run.stdout).toContain("NOT verified: 2 findings in 1 chain; worst unchained (exit 12)");
});

it("names a sequence raised past 2^53 - 1 as modified, with the statement that sets it back", async () => {
  const trail = await recordTrail(10, { checkpointEvery: 4 });
  const url = await server.createDatabase();
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(trail);
  await writer.close();
  await withClient(url, (client) => client.query("SELECT setval('audit_events_seq_seq', 9007199254740991)"));
  const store = await openPostgresStore({ connectionString: url, readonly: true });
  const setBack =
    "SELECT setval('audit_events_seq_seq', (SELECT greatest(coalesce(max(seq), 0), 0) + 1 FROM audit_events WHERE seq <= 9007199254740991), false)";
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    expect(report.chains.map((chain) => [chain.events, chain.sealed, chain.findings])).toStrictEqual([
      [trail.length, true, []],
    ]);
    expect(tally).toStrictEqual({
      unreadable: [
        {
          where: "the store",
          reason:
            "its next position (9007199254740992, from the sequence audit_events_seq_seq) is outside 1 to 2^53 - 1: the store stores every new event where no query or tail reads it; changed from outside. " +
            `Move rows outside that range back, then set it back: ${setBack}`,
        },
      ],
      skippedLines: 0,
    });
  } finally {
    await store.close();
  }
  // The statement named sets it back: the next verify finds nothing.
  await withClient(url, (client) => client.query(setBack));
  const repaired = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    await verifyChains(storeEvents(repaired, tally), { publicKeys: PUBLIC_KEYS });
    expect(tally).toStrictEqual({ unreadable: [], skippedLines: 0 });
  } finally {
    await repaired.close();
  }
  const writer2 = await openPostgresStore({ connectionString: url });
  try {
    const more = await recordTrail(1, { open: true });
    await writer2.insert(more);
    expect(await writer2.lastSeq()).toBe(trail.length + 1);
  } finally {
    await writer2.close();
  }
});

it("says the sequence was not checked for a role that may not read it", async () => {
  const trail = await recordTrail(3, { checkpointEvery: 4 });
  const url = await server.createDatabase();
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(trail);
  await writer.close();
  const role = `reader_${Math.random().toString(36).slice(2, 10)}`;
  await withClient(url, async (client) => {
    await client.query(`CREATE ROLE ${role} LOGIN`);
    await client.query(`GRANT SELECT ON audit_events, audit_schema_version TO ${role}`);
    await client.query("SELECT setval('audit_events_seq_seq', 9007199254740991)");
  });
  const readerUrl = url.replace("postgres://postgres@", `postgres://${role}@`);
  const store = await openPostgresStore({ connectionString: readerUrl, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    await verifyChains(storeEvents(store, tally), { publicKeys: PUBLIC_KEYS });
    expect(tally).toStrictEqual({
      unreadable: [],
      skippedLines: 0,
      unchecked: [
        "the next position was not checked: this role may not read the sequence audit_events_seq_seq",
      ],
    });
  } finally {
    await store.close();
  }
});
