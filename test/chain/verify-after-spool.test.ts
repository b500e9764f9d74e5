import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "./trail.js";

/**
 * An untouched trail that went through the delivery pipeline's spool while its store was down
 * (events spooled on overflow, or every event written ahead to the spool) and was replayed when the
 * store came back still verifies: same chain, no gap, in order, sealed.
 */
it.each([
  ["spooled when the queue overflowed", { overflow: "spool" as const, maxQueueEvents: 16 }],
  ["written ahead to the spool", { writeAheadSpool: true }],
])(
  "a trail %s during a store outage, then replayed, verifies",
  async (_, opts) => {
    const dir = mkdtempSync(join(tmpdir(), "verify-spool-"));
    const store = openAuditStore({ path: join(dir, "audit.db") });
    const real = store.sink();
    let down = true;
    const sink: EventSink = {
      name: "flaky-store",
      write: (batch, options) =>
        down ? Promise.reject(new Error("store down")) : real.write(batch, options),
    };
    const { writeAheadSpool, ...rest } = opts as Record<string, unknown>;
    const emitter = createDeliveryEmitter({
      sink,
      maxBatchEvents: 7,
      flushIntervalMs: 5,
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      spool: { path: join(dir, "spool.db"), writeAhead: writeAheadSpool === true, commitIntervalMs: 5 },
      ...(rest as object),
    });
    const recorder = createRecorder({
      service: "projects",
      emitters: [emitter],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 10 },
    });
    for (let i = 1; i <= 120; i++) {
      recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: `p-${i}` });
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 3));
      if (i === 60) down = false;
    }
    await recorder.close();
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    const stats = emitter.stats();
    expect(stats.replayed).toBeGreaterThan(0);
    expect(stats.delivered).toBe(133);
    expect(report.chains.map((chain) => [chain.events, chain.sealed, chain.findings])).toEqual([
      [133, true, []],
    ]);
    expect(report.ok).toBe(true);
    store.close();
  },
  30_000,
);
