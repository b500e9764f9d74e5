// Review R69: `prune` while a signed chain's Recorder is still open, every event it stored so far
// older than the cutoff. The chain has no final checkpoint, so more may follow: prune keeps its last
// older checkpoint as the anchor, and `verify` then notes the prefix as pruned instead of reporting it
// missing. A chain that ended in its final checkpoint, every event older, still goes whole; one
// whose final checkpoint was stored before a backlog of it (review R73) has not ended.
import { join } from "node:path";
import { beforeAll, describe } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, tempDir } from "../cli/helpers.js";
import { pruneOfOpenChainTests } from "./prune-open-chain-tests.js";

describe.concurrent("grpc-audit prune on a SQLite store while a signed chain is still written", () => {
  beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);
  pruneOfOpenChainTests(async () => {
    const db = join(tempDir(), "audit.db");
    const store = openAuditStore({ path: db });
    return { db, insert: (events) => store.insert(events), close: () => store.close() };
  });
});
