// Review R107: bytes added to a stored event went unseen by verify. The decoder drops a field the
// schema does not know, and the chain hash is taken over the event's canonical encoding, so
// `UPDATE audit_events SET event = event || '\xf80601'::bytea` left the hash matching and verify
// reported nothing. Such a row is now `modified`; query still shows its event.
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

it("reports a row with an unknown field appended in place as modified; query still shows it", async () => {
  const url = await server.createDatabase();
  const trail = await recordTrail(7);
  const writer = await openPostgresStore({ connectionString: url });
  await writer.insert(trail);
  await writer.close();
  await withClient(url, async (client) => {
    await client.query("UPDATE audit_events SET event = event || '\\xf80601'::bytea WHERE seq = 6");
  });

  const store = await openPostgresStore({ connectionString: url, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    expect(tally.unreadable).toStrictEqual([
      {
        where: `row 6 (event ${trail[5]?.eventId})`,
        reason: "its stored bytes are not its event's encoding: 3 bytes the event schema does not know",
      },
    ]);
    expect(
      report.chains.map((chain) => chain.findings.map(({ kind, detail }) => [kind, detail])),
    ).toStrictEqual([[["missing", "seq 6 is missing"]]]);
    const queried = await store.query({}, { limit: 100 });
    expect(queried.events.map((e) => e.eventId)).toStrictEqual(trail.map((e) => e.eventId).reverse());
  } finally {
    await store.close();
  }
});
