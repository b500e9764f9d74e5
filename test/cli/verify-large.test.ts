import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

const COUNT = 100_000;
// 100,000 mutations, a checkpoint after every 1000 (the default) and the final one.
const TOTAL = COUNT + COUNT / 1000 + 1;

describe("an untouched 100,000-event trail in a real store", () => {
  let db: string;
  let keyFile: string;

  beforeAll(async () => {
    const dir = tempDir();
    db = join(dir, "large.db");
    keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
    const memory = createMemoryEmitter({ capacity: TOTAL });
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
    });
    recordMutations(recorder, COUNT);
    await recorder.close();
    const store = openAuditStore({ path: db });
    for (let i = 0; i < memory.events.length; i += 5000) store.insert(memory.events.slice(i, i + 5000));
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  it("verifies through the library", async () => {
    const store = openAuditStore({ path: db, readonly: true });
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    store.close();
    expect(tally.unreadable).toStrictEqual([]);
    expect(report).toMatchObject({ ok: true, events: TOTAL, unchained: 0 });
    expect(report.chains[0]).toMatchObject({
      events: TOTAL,
      lastSeq: TOTAL,
      checkpoints: 101,
      verifiedCheckpoints: 101,
      sealed: true,
      findings: [],
    });
  });

  it("verifies through the CLI", async () => {
    const run = await runCli(["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toContain(`${TOTAL} events, seq 1-${TOTAL}, 101 checkpoints (101 verified), sealed`);
  });
});
