// A prune deletes in short transactions with pauses between them, so a writer in another process
// (an audited server, an ingester) stores its events while the prune runs instead of waiting for all
// of it (and failing after its busy timeout on a large store). A row such a writer stores meanwhile
// still ends its chain's prefix: the chain verifies afterwards.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { withoutOrder } from "../../src/cli/commands/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

const CHILD = "test/store/fixtures/prune-writer-child.ts";
let compiled: Compiled;
beforeAll(() => {
  compiled = compile([CHILD]);
});
afterAll(() => compiled?.remove());

const BEFORE = Date.parse("2026-02-01T00:00:00Z");
/**
 * Older events without a chain: the prune's first transactions delete them, in insertion order. Their
 * random event and trace ids spread the deletes over many index pages: several transactions.
 */
const FILLER = 120_000;
/** What the writer inserts, one copy after another: newer than BEFORE, without a chain. */
const NEWER = { ...sampleEvent(), chain: undefined, occurredAt: new Date(BEFORE + 3_600_000) };

function filled(): AuditStore {
  const store = openAuditStore({ path: join(mkdtempSync(join(tmpdir(), "grpc-audit-prune-")), "audit.db") });
  for (let start = 0; start < FILLER; start += 5000) {
    const batch = Array.from({ length: 5000 }, (_, k) => ({
      ...NEWER,
      eventId: randomUUID(),
      traceId: randomBytes(16).toString("hex"),
      occurredAt: new Date(BEFORE - 86_400_000 + start + k),
    }));
    store.insert(batch);
  }
  return store;
}

/** Closes the store and removes its folder: each holds some 100 MB. */
function closeAndRemove(store: AuditStore): void {
  store.close();
  rmSync(dirname(store.path), { recursive: true, force: true });
}

interface WriterResult {
  failed: number;
  inserts: [number, number][];
  late?: [number, number];
}

/** Starts the writer on `store`; resolves once its first insert is stored. */
async function startWriter(store: AuditStore, late?: AuditEvent): Promise<ChildProcess> {
  const args = [store.path, String(BEFORE), JSON.stringify(eventToJson(NEWER))];
  if (late !== undefined) args.push(JSON.stringify(eventToJson(late)));
  const child = spawn(process.execPath, [compiled.file(CHILD), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.stdout?.setEncoding("utf8");
  const [first] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [string];
  expect(first).toBe("ready\n");
  return child;
}

async function stopWriter(child: ChildProcess): Promise<WriterResult> {
  let out = "";
  child.stdout?.on("data", (chunk: string) => {
    out += chunk;
  });
  const exited = once(child, "exit");
  child.stdin?.end();
  await exited;
  return JSON.parse(out) as WriterResult;
}

/** 20 mutations and their checkpoints (seqs 5, 10, ...), two a minute from 5 minutes before BEFORE. */
async function trail(): Promise<AuditEvent[]> {
  let tick = 0;
  return recordTrail(20, {
    checkpointEvery: 4,
    recorder: { now: () => new Date(BEFORE - 5 * 60_000 + Math.floor(tick++ / 2) * 60_000) },
  });
}

describe("a prune beside a writer in another process", { timeout: 90_000 }, () => {
  it.for([false, true])(
    "stores the writer's inserts between its delete transactions, none failing (cutChains: %s)",
    async (cutChains) => {
      const store = filled();
      try {
        const writer = await startWriter(store);
        const report = store.pruneReport({ before: new Date(BEFORE), cutChains });
        const { failed, inserts } = await stopWriter(writer);
        expect(report.deleted).toBe(FILLER);
        // Stored while some but not all older events were deleted: between two of its transactions.
        const during = inserts.filter(([olderBefore, olderAfter]) => olderBefore < FILLER && olderAfter > 0);
        expect({ failed, storedDuringThePrune: during.length > 0 }).toStrictEqual({
          failed: 0,
          storedDuringThePrune: true,
        });
      } finally {
        closeAndRemove(store);
      }
    },
  );

  it("lets a late event stored between its transactions end the chain's prefix: the chain verifies", async () => {
    const events = await trail();
    const late = events[6] as AuditEvent; // seq 7, older than BEFORE, as a spool replays it
    expect([late.chain?.seq, (late.occurredAt?.getTime() ?? 0) < BEFORE]).toStrictEqual([7, true]);
    const store = filled(); // the chain after the filler: its rows go last
    try {
      store.insert(events.filter((e) => e !== late));
      const writer = await startWriter(store, late);
      const report = store.pruneReport({ before: new Date(BEFORE) });
      const result = await stopWriter(writer);
      // Stored while the prune had deleted some older events but not all: mid-prune.
      const [olderBefore, olderAfter] = result.late ?? [0, 0];
      expect(olderBefore < FILLER + 10 && olderAfter > 1).toBe(true);
      // Seq 7 ends the prefix: it goes up to checkpoint 5, not 10; 7 and 6, 8 to 10 stay.
      expect(report).toStrictEqual({
        deleted: FILLER + 4,
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 0, arrived: 4 },
        anchoredChains: 1,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: FILLER,
      });
      const tally: SourceTally = { unreadable: [], skippedLines: 0 };
      const verified = await verifyChains(storeEvents({ tail: async (a, l) => store.tail(a, l) }, tally), {
        publicKeys: PUBLIC_KEYS,
        expectSealed: true,
      });
      // Out of seq order is how a late event is stored: not a finding here.
      expect({
        findings: withoutOrder(verified.chains).flatMap((c) => c.findings),
        pruned: verified.chains[0]?.pruned,
      }).toStrictEqual({ findings: [], pruned: { toSeq: 4, anchorSeq: 5, keyId: KEY_ID } });
    } finally {
      closeAndRemove(store);
    }
  });
});
