// `pruneReport` at scale, on both stores: 1,000,000 events of 10 interleaved chains (a signed
// checkpoint every 1000 events of a chain) spread evenly over October to December 2026, pruned at the
// time of event 500,000 (mid-November: October's partition is entirely older). Each prune runs in a
// child process of its own, so its peak RSS is the prune's: seconds and peak RSS (MB) per store. On
// PostgreSQL the child also inserts one event after another while the prune runs, from a second
// store: the longest such insert shows how long ingesters wait for the prune. A dry run (the plan
// alone) precedes each prune, on the same data. Each build listed in
// BENCH_PRUNE_BUILDS (dist folders, default this one) prunes its own copy of the same data, so an
// old and a new build compare in one run. BENCH_STORE_EVENTS changes the count.
// Alone, not in `npm run bench`: `npm run bench:build && node dist-bench/bench/prune.js`.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { AuditEvent } from "../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import { openAuditStore } from "../src/store/audit-store.js";
import { startPostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { benchEvent } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 1_000_000);
const CHAINS = 10;
const CHECKPOINT_EVERY = 1000;
const FROM = Date.parse("2026-10-01T00:00:00Z");
const TO = Date.parse("2027-01-01T00:00:00Z");
const STEP_MS = Math.floor((TO - FROM) / EVENTS);
/** The cutoff: the time of the middle event. */
const BEFORE = new Date(FROM + Math.floor(EVENTS / 2) * STEP_MS);

/** Event `i`: chain i % 10, seq i / 10 + 1, each 1000th of a chain a checkpoint naming its head. */
function chainedEvent(i: number): AuditEvent {
  const event = benchEvent(i);
  const seq = Math.floor(i / CHAINS) + 1;
  event.occurredAt = new Date(FROM + i * STEP_MS);
  event.chain = { chainId: `chain-${i % CHAINS}`, seq, prevHash: "p".repeat(64), hash: "h".repeat(64) };
  if (seq % CHECKPOINT_EVERY === 0) {
    const value = { headSeq: seq - 1, headHash: "p".repeat(64), keyId: "k1", signature: "s", final: false };
    event.detail = { $case: "checkpoint", value };
  }
  return event;
}

async function fill(insert: (batch: AuditEvent[]) => unknown, name: string): Promise<void> {
  const BATCH = 5000;
  for (let start = 0; start < EVENTS; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, EVENTS - start) }, (_, k) => chainedEvent(start + k));
    await insert(batch);
    if ((start / BATCH) % 20 === 0) process.stderr.write(`${name}: ${start} events inserted\r`);
  }
}

/** Child: prunes one store and prints { seconds, peakRssMb, report, longestInsertMs }. */
async function pruneChild(kind: string, db: string, dryRun: boolean): Promise<void> {
  const rssAtStart = process.memoryUsage().rss;
  if (kind === "sqlite") {
    const store = openAuditStore({ path: db, readonly: dryRun });
    const t = performance.now();
    const report = store.pruneReport({ before: BEFORE, dryRun });
    const seconds = (performance.now() - t) / 1000;
    store.close();
    print({ seconds, report, rssAtStart });
    return;
  }
  const store = await openPostgresStore({ connectionString: db });
  const probe = await openPostgresStore({ connectionString: db, poolSize: 1 });
  let done = false;
  let longestInsertMs = 0;
  let probes = 0;
  let failedInserts = 0;
  const inserts = (async () => {
    while (!done) {
      const t = performance.now();
      // One the prune does not delete: newer than the cutoff, without a chain.
      const event = { ...chainedEvent(0), chain: undefined, occurredAt: new Date(TO - 1000) };
      await probe.insert([event]).catch(() => failedInserts++); // an insert's queryTimeoutMs (30 s) ran out
      longestInsertMs = Math.max(longestInsertMs, performance.now() - t);
      probes++;
    }
  })();
  const t = performance.now();
  const report = await store.pruneReport({ before: BEFORE, dryRun });
  const seconds = (performance.now() - t) / 1000;
  done = true;
  await inserts;
  await Promise.all([store.close(), probe.close()]);
  print({ seconds, report, rssAtStart, longestInsertMs, probes, failedInserts });
}

function print(result: Record<string, unknown>): void {
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ...result, peakRssMb }));
}

function runChild(build: string, kind: string, db: string, dryRun = false): Record<string, unknown> {
  const script = resolve(build, "bench", "prune.js");
  const mode = dryRun ? "--dry-run" : "--prune";
  const child = spawnSync(process.execPath, [script, mode, kind, db], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`${build} ${kind} prune failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}

const args = process.argv.slice(2);
if (args[0] === "--prune" || args[0] === "--dry-run") {
  await pruneChild(args[1] ?? "", args[2] ?? "", args[0] === "--dry-run");
} else {
  const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const builds = (process.env.BENCH_PRUNE_BUILDS ?? here).split(",").map((b) => resolve(b));
  const folder = mkdtempSync(join(tmpdir(), "prune-bench-"));
  const server = await startPostgresServer();
  const results: Record<string, unknown>[] = [];
  try {
    const sqlite = join(folder, "filled.db");
    const lite = openAuditStore({ path: sqlite });
    await fill((batch) => lite.insert(batch), "sqlite");
    lite.close();
    const template = await server.createDatabase();
    const pgStore = await openPostgresStore({ connectionString: template });
    await fill((batch) => pgStore.insert(batch), "postgres");
    await pgStore.close();
    await withClient(template, (c) => c.query("VACUUM ANALYZE audit_events"));
    const templateName = new URL(template).pathname.slice(1);
    for (const [b, build] of builds.entries()) {
      const copy = join(folder, `copy-${b}.db`);
      copyFileSync(sqlite, copy);
      results.push({ build, store: "sqlite", dryRun: true, ...runChild(build, "sqlite", copy, true) });
      console.error(JSON.stringify(results[results.length - 1]));
      results.push({ build, store: "sqlite", ...runChild(build, "sqlite", copy) });
      console.error(JSON.stringify(results[results.length - 1]));
      rmSync(copy);
      const url = new URL(template);
      url.pathname = `/prune_${b}`;
      const admin = new URL(template);
      admin.pathname = "/postgres"; // a template takes no connection while it is copied
      await withClient(admin.toString(), (c) =>
        c.query(`CREATE DATABASE prune_${b} TEMPLATE ${templateName}`),
      );
      const db = url.toString();
      results.push({ build, store: "postgres", dryRun: true, ...runChild(build, "postgres", db, true) });
      console.error(JSON.stringify(results[results.length - 1]));
      results.push({ build, store: "postgres", ...runChild(build, "postgres", db) });
      console.error(JSON.stringify(results[results.length - 1]));
    }
  } finally {
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
  console.log(
    `prune of ${EVENTS} events (${CHAINS} chains, a checkpoint every ${CHECKPOINT_EVERY}), node ${process.version}`,
  );
  for (const r of results) console.log(JSON.stringify(r));
}
