// A SQLite store's prune deletes in several transactions. A prune killed between two of them (SIGKILL,
// a crash) must leave a store that verifies, as after a finished prune: each chain starts at a
// signed checkpoint, at seq 1, or is gone whole, never partway. A rerun with the same `before` then
// finishes the prune. The prune runs in a child process that stops after each commit until told to
// go on (so each committed state is looked at, and the kill falls between two commits, not by timing);
// its transactions are as short as they may be.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import type { PruneReport } from "../../src/store/prune-plan.js";
import { PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { type Compiled, compile } from "../delivery/compile.js";

const CHILD = "test/store/fixtures/prune-step-child.ts";
const BEFORE = Date.parse("2026-02-01T00:00:00Z");
let compiled: Compiled;
let folder: string;
/** The store as written, never pruned: each test prunes a copy. */
let original: string;

/** `now` for a Recorder: one event a minute from `fromMs`. */
const minutes = (fromMs: number) => {
  let tick = 0;
  return () => new Date(fromMs + tick++ * 60_000);
};

beforeAll(async () => {
  compiled = compile([CHILD]);
  folder = mkdtempSync(join(tmpdir(), "grpc-audit-prune-killed-"));
  original = join(folder, "original.db");
  // A closed chain wholly older (goes whole), a closed chain half older (cut at its checkpoint 10),
  // and a chain without checkpoints wholly older (goes whole): their rows interleaved, as Recorders
  // of several servers write them.
  const trails = [
    await recordTrail(10, { checkpointEvery: 3, recorder: { now: minutes(BEFORE - 3_600_000) } }),
    await recordTrail(16, { checkpointEvery: 4, recorder: { now: minutes(BEFORE - 11 * 60_000) } }),
    await recordTrail(7, { recorder: { chain: true, now: minutes(BEFORE - 3_600_000) } }),
  ];
  const store = openAuditStore({ path: original });
  for (let i = 0; trails.some((trail) => i < trail.length); i++) {
    store.insert(trails.flatMap((trail) => (i < trail.length ? [trail[i] as AuditEvent] : [])));
  }
  store.close();
});
afterAll(() => {
  compiled?.remove();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

/** A copy of the unpruned store. */
function copy(name: string): string {
  const path = join(folder, `${name}.db`);
  copyFileSync(original, path);
  return path;
}

/** Every stored event, in insertion order. */
function storedEvents(path: string): AuditEvent[] {
  const store = openAuditStore({ path, readonly: true });
  try {
    const events: AuditEvent[] = [];
    for (let after = 0; ; ) {
      const page = store.tail(after, 1000);
      if (page.events.length === 0) return events;
      events.push(...page.events);
      after = page.lastSeq;
    }
  } finally {
    store.close();
  }
}

/** What verify finds in the store: each chain's findings, and which chains it notes as pruned. */
async function verified(path: string) {
  const report = await verifyChains(storedEvents(path), { publicKeys: PUBLIC_KEYS });
  return {
    findings: report.chains.flatMap((chain) => chain.findings.map((f) => f.detail)),
    pruned: report.chains.flatMap((chain) => (chain.pruned === undefined ? [] : [chain.pruned.toSeq])),
  };
}

/** The child pruning `path`, and its output lines one by one. */
function startPrune(path: string): { child: ChildProcess; line: () => Promise<string> } {
  const child = spawn(process.execPath, [compiled.file(CHILD), path, String(BEFORE)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return {
    child,
    line: async () => {
      const next = await lines.next();
      return next.done === true ? "(exited)" : String(next.value);
    },
  };
}

/** The same prune in one go, in this process: its report and the event ids it leaves. */
function prunedAtOnce(): { report: PruneReport; ids: string[] } {
  const path = copy("at-once");
  const store = openAuditStore({ path });
  const report = store.pruneReport({ before: new Date(BEFORE) });
  store.close();
  return { report, ids: storedEvents(path).map((e) => e.eventId) };
}

describe("a SQLite store's prune stopped between two of its transactions", { timeout: 60_000 }, () => {
  it("leaves a store that verifies after every commit, and reports what a prune in one go reports", async () => {
    const path = copy("stepped");
    const atOnce = prunedAtOnce();
    const { child, line } = startPrune(path);
    const states: Awaited<ReturnType<typeof verified>>[] = [];
    let said = await line();
    for (; said.startsWith("committed "); said = await line()) {
      states.push(await verified(path));
      child.stdin?.write("go\n");
    }
    // Several transactions, not one finding after any of them, and the report of a prune in one go.
    expect(states.length).toBeGreaterThan(2);
    expect(states.filter((state) => state.findings.length > 0)).toStrictEqual([]);
    expect(said.startsWith("done ") && JSON.parse(said.slice("done ".length))).toStrictEqual(atOnce.report);
    expect(storedEvents(path).map((e) => e.eventId)).toStrictEqual(atOnce.ids);
    expect(await verified(path)).toStrictEqual({ findings: [], pruned: [9] });
  });

  it("leaves a store that verifies when killed after its first commit; a rerun finishes the prune", async () => {
    const path = copy("killed");
    const atOnce = prunedAtOnce();
    const { child, line } = startPrune(path);
    const first = await line();
    expect(first.startsWith("committed ")).toBe(true);
    const exited = new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    expect(storedEvents(path).length).toBeLessThan(storedEvents(original).length); // some went
    expect((await verified(path)).findings).toStrictEqual([]);
    const store = openAuditStore({ path });
    const rest = store.pruneReport({ before: new Date(BEFORE) });
    store.close();
    expect(rest.deleted + Number(first.slice("committed ".length))).toBe(atOnce.report.deleted);
    expect(storedEvents(path).map((e) => e.eventId)).toStrictEqual(atOnce.ids);
    expect(await verified(path)).toStrictEqual({ findings: [], pruned: [9] });
  });
});
