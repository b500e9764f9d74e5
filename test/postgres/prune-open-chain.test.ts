// Review R69 on the PostgreSQL store: `prune` while a signed chain's Recorder is still open, every
// event it stored so far older than the cutoff, keeps the chain's last older checkpoint as the anchor
// (the plan is the SQLite store's); `verify` then notes the prefix as pruned instead of missing. A
// chain that ended in its final checkpoint, every event older, still goes whole; one whose final
// checkpoint was stored before a backlog of it (review R73) has not ended.
import { describe } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";
import { pruneOfOpenChainTests } from "../store/prune-open-chain-tests.js";

describe("grpc-audit prune on a PostgreSQL store while a signed chain is still written", () => {
  const server = usePostgresForCli();
  pruneOfOpenChainTests(async () => {
    const db = await server().createDatabase();
    const store = await openPostgresStore({ connectionString: db });
    return { db, insert: (events) => store.insert(events), close: () => store.close() };
  });
});
