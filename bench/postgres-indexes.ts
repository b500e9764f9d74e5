// What each index of the PostgreSQL store costs per insert: the store benchmark's events (100,000;
// BENCH_STORE_EVENTS) inserted in batches of 2000 (BENCH_PG_BATCH) into a fresh database of the current
// schema, and of the schema less one index, each layout in turn for BENCH_ROUNDS rounds (default 3)
// so that a busy machine weighs on all alike. Printed per layout: PostgreSQL's CPU time per event (all
// its processes, from /proc) and its WAL bytes per event. The server is bench/postgres-store.ts's
// (durability on). Not part of `npm run bench`: `npm run bench:build && node dist-bench/bench/postgres-indexes.js`.

import { encodeEvent } from "../src/event/serialize.js";
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import { EVENTS_TABLE } from "../src/postgres/schema.js";
import { DURABLE_SETTINGS, startPostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { treeCpuMs } from "./process-cpu.js";
import { spread } from "./results.js";
import { benchEvent } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 100_000);
const BATCH = Number(process.env.BENCH_PG_BATCH ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const drop = (...names: string[]) => names.map((name) => `DROP INDEX ${EVENTS_TABLE}_${name}`);
/** Each layout: the statements that make it from the current schema. */
const LAYOUTS: Record<string, string[]> = {
  "current schema": [],
  "without (occurred_at_ms)": drop("time"),
  "without (seq)": drop("seq"),
  "(seq) as BRIN": [...drop("seq"), `CREATE INDEX ${EVENTS_TABLE}_seq ON ${EVENTS_TABLE} USING brin (seq)`],
  "without the actor's": drop("actor"),
  "without the target's": drop("target"),
  "without the request id's": drop("request"),
  "without the trace id's": drop("trace"),
  "the primary key alone": drop("time", "seq", "actor", "target", "request", "trace"),
};

const rows = Array.from({ length: EVENTS }, (_, i) => {
  const event = benchEvent(i);
  return { event, bytes: encodeEvent(event) };
});
const walPosition = async (url: string) =>
  withClient(
    url,
    async (c) => (await c.query<{ l: string }>("SELECT pg_current_wal_insert_lsn() l")).rows[0]?.l,
  );

const server = await startPostgresServer({ settings: DURABLE_SETTINGS });
const measured = new Map<string, { cpuUs: number[]; walBytes: number }>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [layout, statements] of Object.entries(LAYOUTS)) {
      const url = await server.createDatabase();
      const store = await openPostgresStore({ connectionString: url, poolSize: 1 });
      await withClient(url, async (c) => {
        for (const sql of statements) await c.query(sql);
        await c.query("CHECKPOINT"); // every layout starts without dirty pages of the one before
      });
      const wal = await walPosition(url);
      const cpu = treeCpuMs(server.pid);
      for (let start = 0; start < EVENTS; start += BATCH)
        await store.insertEncoded(rows.slice(start, start + BATCH));
      const cpuUs = ((treeCpuMs(server.pid) - cpu) * 1000) / EVENTS;
      const walBytes = await withClient(url, async (c) => {
        const diff = await c.query<{ d: string }>(
          "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1) d",
          [wal],
        );
        return Number(diff.rows[0]?.d) / EVENTS;
      });
      await store.close();
      const entry = measured.get(layout) ?? { cpuUs: [], walBytes };
      entry.cpuUs.push(cpuUs);
      measured.set(layout, entry);
      process.stderr.write(`round ${round + 1}: ${layout} ${cpuUs.toFixed(1)} µs\n`);
    }
  }
} finally {
  await server.stop();
}
console.log(
  `\nPostgreSQL CPU and WAL per event inserted, ${EVENTS} events in batches of ${BATCH}, ${ROUNDS} rounds`,
);
console.table(
  [...measured].map(([layout, m]) => ({
    layout,
    "µs CPU per event": spread(m.cpuUs),
    "WAL bytes per event": Math.round(m.walBytes),
  })),
);
