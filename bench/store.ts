// The embedded SQLite store: 1,000,000 events inserted in batches (events/s), then the first page of
// a filtered query for one actor, and the same for a target and for denied decisions (ms), and a page
// of every event half way down (a cursor there, as `query --all` reaches it): it should cost what the
// first page costs. Part of `npm run bench`; BENCH_STORE_EVENTS changes the count.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { openAuditStore } from "../src/store/audit-store.js";
import { encodeCursor } from "../src/store/page-cursor.js";
import type { AuditQuery } from "../src/store/query.js";
import { median, writeResults } from "./results.js";
import { ACTORS, benchEvent as event, T0 } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_STORE_BATCH ?? 20_000);

const dir = mkdtempSync(join(tmpdir(), "grpc-audit-store-bench-"));
const path = join(dir, "audit.db");
const store = openAuditStore({ path });

let insertMs = 0;
for (let start = 0; start < EVENTS; start += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, EVENTS - start) }, (_, k) => event(start + k));
  const t = performance.now();
  store.insert(batch);
  insertMs += performance.now() - t;
  if ((start / BATCH) % 100 === 0) process.stderr.write(`store: ${start} events inserted\r`);
}
const insertsPerSec = (EVENTS / insertMs) * 1000;

function firstPageMs(filter: AuditQuery): number {
  const times = Array.from({ length: 20 }, (_, k) => {
    const t = performance.now();
    const page = store.query(
      typeof filter.actorId === "string" ? { ...filter, actorId: `user-${(k * 37) % ACTORS}` } : filter,
      { limit: 50 },
    );
    if (page.events.length === 0) throw new Error("the benchmark query found nothing");
    return performance.now() - t;
  });
  return median(times);
}

/** A page of every event after a cursor `depth` events below the newest (event i is at T0 + i s, seq i + 1). */
function pageAtMs(depth: number): number {
  const i = EVENTS - 1 - depth;
  const cursor = encodeCursor(T0 + i * 1000, i + 1);
  const times = Array.from({ length: 20 }, () => {
    const t = performance.now();
    if (store.query({}, { limit: 50, cursor }).events.length === 0) throw new Error("the page is empty");
    return performance.now() - t;
  });
  return median(times);
}

const table = [
  {
    measure: `insert ${EVENTS} events in batches of ${BATCH}`,
    value: `${Math.round(insertsPerSec)} events/s`,
    target: "≥ 50000 events/s",
  },
  {
    measure: "first page (50), one actor",
    value: `${firstPageMs({ actorId: "user-1" }).toFixed(2)} ms`,
    target: "< 50 ms",
  },
  {
    measure: "first page (50), one target",
    value: `${firstPageMs({ targetType: "project", targetId: "p-42" }).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "first page (50), denied decisions",
    value: `${firstPageMs({ decision: "denied" }).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "first page (50), actor + last 24 h",
    value: `${firstPageMs({ actorId: "user-1", from: new Date(T0 + (EVENTS - 86_400) * 1000) }).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "page (50) of every event after a cursor at the top",
    value: `${pageAtMs(50).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "page (50) of every event after a cursor half way down",
    value: `${pageAtMs(Math.floor(EVENTS / 2)).toFixed(2)} ms`,
    target: "≈ the page at the top",
  },
];
const sizeMb = statSync(path).size / 1e6;
console.log(`\nSQLite store, ${EVENTS} events (${sizeMb.toFixed(0)} MB file), node ${process.version}`);
console.table(table);
writeResults("store", { events: EVENTS, insertsPerSec, table, fileMb: sizeMb });
store.close();
rmSync(dir, { recursive: true, force: true });
