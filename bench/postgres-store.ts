// The PostgreSQL store, beside the SQLite one (bench/store.ts) on the same events: 1,000,000 events
// inserted in batches (events/s, and PostgreSQL's CPU time per event, all its processes, from /proc),
// then the first page of a filtered query for one actor, a target, denied decisions, one call and
// one event (ms). The server is the tests' (test/helpers/postgres-server.ts: initdb into a
// temporary folder, loopback port) with durability on (fsync, full page writes, synchronous commit), as
// a production server runs, warmed up first as a running server is (postgres-warm-up.ts). Part of `npm run bench`; BENCH_STORE_EVENTS and BENCH_PG_BATCH change
// the count and the batch size.
import { performance } from "node:perf_hooks";
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import type { AuditQuery } from "../src/store/query.js";
import { DURABLE_SETTINGS, startPostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { warmUpPostgres } from "./postgres-warm-up.js";
import { treeCpuMs } from "./process-cpu.js";
import { median, writeResults } from "./results.js";
import { ACTORS, benchEvent, T0 } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_PG_BATCH ?? 5000);

const server = await startPostgresServer({ settings: DURABLE_SETTINGS });
try {
  await warmUpPostgres(server, EVENTS);
  const connectionString = await server.createDatabase();
  const store = await openPostgresStore({ connectionString });

  let insertMs = 0;
  const cpuBefore = treeCpuMs(server.pid);
  for (let start = 0; start < EVENTS; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, EVENTS - start) }, (_, k) => benchEvent(start + k));
    const t = performance.now();
    await store.insert(batch);
    insertMs += performance.now() - t;
    if ((start / BATCH) % 20 === 0) process.stderr.write(`postgres store: ${start} events inserted\r`);
  }
  const insertsPerSec = (EVENTS / insertMs) * 1000;
  const postgresCpuUs = ((treeCpuMs(server.pid) - cpuBefore) * 1000) / EVENTS;
  await withClient(connectionString, (c) => c.query("VACUUM ANALYZE audit_events"));

  const firstPageMs = async (filter: AuditQuery): Promise<number> => {
    const times: number[] = [];
    for (let k = 0; k < 20; k++) {
      const t = performance.now();
      const page = await store.query(
        typeof filter.actorId === "string" ? { ...filter, actorId: `user-${(k * 37) % ACTORS}` } : filter,
        { limit: 50 },
      );
      if (page.events.length === 0) throw new Error("the benchmark query found nothing");
      times.push(performance.now() - t);
    }
    return median(times);
  };

  const middle = await withClient(connectionString, (c) =>
    c.query<{ event_id: string }>("SELECT event_id FROM audit_events ORDER BY seq OFFSET $1 LIMIT 1", [
      Math.floor(EVENTS / 3),
    ]),
  );
  const table = [
    {
      measure: `insert ${EVENTS} events in batches of ${BATCH}`,
      value: `${Math.round(insertsPerSec)} events/s`,
      target: "",
    },
    { measure: "PostgreSQL CPU per event inserted", value: `${postgresCpuUs.toFixed(1)} µs`, target: "" },
    {
      measure: "first page (50), one actor",
      value: `${(await firstPageMs({ actorId: "user-1" })).toFixed(2)} ms`,
      target: "< 50 ms",
    },
    {
      measure: "first page (50), one target",
      value: `${(await firstPageMs({ targetType: "project", targetId: "p-42" })).toFixed(2)} ms`,
      target: "",
    },
    {
      measure: "first page (50), denied decisions",
      value: `${(await firstPageMs({ decision: "denied" })).toFixed(2)} ms`,
      target: "",
    },
    {
      measure: "first page (50), actor + last 24 h",
      value: `${(await firstPageMs({ actorId: "user-1", from: new Date(T0 + (EVENTS - 86_400) * 1000) })).toFixed(2)} ms`,
      target: "",
    },
    {
      measure: "one call's events (request id)",
      value: `${(await firstPageMs({ requestId: `req-${Math.floor(EVENTS / 2)}` })).toFixed(2)} ms`,
      target: "",
    },
    {
      measure: "one event (event id)",
      value: `${(await firstPageMs({ eventId: middle.rows[0]?.event_id ?? "" })).toFixed(2)} ms`,
      target: "",
    },
  ];
  const size = await withClient(connectionString, (c) =>
    c.query<{ mb: string }>("SELECT pg_database_size(current_database()) / 1000000 mb"),
  );
  console.log(
    `\nPostgreSQL 15 store, ${EVENTS} events (${size.rows[0]?.mb} MB database), node ${process.version}`,
  );
  console.table(table);
  writeResults("postgres-store", {
    events: EVENTS,
    batch: BATCH,
    insertsPerSec,
    postgresCpuUs,
    table,
    databaseMb: Number(size.rows[0]?.mb),
  });
  await store.close();
} finally {
  await server.stop();
}
