// Ingestion NATS JetStream → PostgreSQL: a real `nats-server -js` holding N events (default 500,000;
// BENCH_INGEST_EVENTS) that a BrokerEmitter published (protobuf), drained by createIngester +
// createNatsSource into the PostgreSQL store (the tests' server, durability on as in
// bench/postgres-store.ts, warmed up first as a running server is: see postgres-warm-up.ts), for 1 and 2 ingesters
// and batches of 500 to 5000. Each ingester is its own child process (as ingesters run), with its own
// connections; each case has a fresh durable consumer and a fresh database. N is large enough for the
// ingesters to run mostly warm: at 200,000 events two fresh processes spent a third more CPU per event,
// compiling. Events/s is from "go" until the last event is acknowledged. Reported beside it: how much
// of the time an insert was under way (the store is wrapped to time it), and the CPU time per event of
// the ingesters, of PostgreSQL (its processes) and of nats-server, which on a shared machine say more
// than the rate. The cases run in BENCH_INGEST_ROUNDS rounds (default 3), alternated, and the table
// gives each one's median and the range of its rates: on a shared machine one run can be off by a
// tenth. BENCH_INGEST_CASES picks cases ("1x2000,2x2000"). Part of `npm run bench`.
import { type ChildProcess, fork } from "node:child_process";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createBrokerEmitter } from "../src/brokers/index.js";
import { createIngester, type IngestSource, type IngestStore } from "../src/ingest/index.js";
import {
  createNatsBroker,
  createNatsSource,
  ensureAuditStream,
  type NatsSourceMessage,
} from "../src/nats/index.js";
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { DURABLE_SETTINGS, startPostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { dropDatabase, warmUpPostgres } from "./postgres-warm-up.js";
import { findProcess, treeCpuMs } from "./process-cpu.js";
import { median, writeResults } from "./results.js";
import { benchEvent } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 500_000);
/** Rounds of every case (BENCH_INGEST_ROUNDS), alternated: the table gives each case's median. */
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3);
const STREAM = "AUDIT";
/** "ingesters×batch" cases, from BENCH_INGEST_CASES (such as "1x2000,2x2000") or these. */
const CASES = (process.env.BENCH_INGEST_CASES ?? "1x500,1x2000,1x5000,2x2000,2x5000").split(",").map((c) => {
  const [ingesters, batch] = c.split("x").map(Number);
  if (!Number.isInteger(ingesters) || !Number.isInteger(batch)) throw new Error(`bad case ${c}`);
  return { ingesters: ingesters ?? 1, batch: batch ?? 500 };
});

/** The servers of the run and their processes. */
interface Servers {
  natsUrl: string;
  postgresUrl: string;
  natsPid: number;
  postgresPid: number;
}

interface IngesterConfig {
  nats: string;
  db: string;
  consumer: string;
  batch: number;
}
/** What an ingester process reports after each batch it acknowledged. */
interface Progress {
  inserted: number;
  wallMs: number;
  insertMs: number;
  cpuMs: number;
}

/** An ingester process: ready once connected, starts on "go", reports each batch, ends on "stop". */
async function ingesterProcess(config: IngesterConfig): Promise<void> {
  const source = await createNatsSource({ servers: config.nats, stream: STREAM, consumer: config.consumer });
  const store = await openPostgresStore({ connectionString: config.db });
  let insertMs = 0;
  let started = 0;
  let cpu = process.cpuUsage();
  let inserted = 0;
  const measured: IngestSource<NatsSourceMessage> = {
    name: source.name,
    fetch: (max, wait, signal) => source.fetch(max, wait, signal),
    ack: async (messages) => {
      await source.ack(messages);
      const used = process.cpuUsage(cpu);
      const progress: Progress = {
        inserted,
        wallMs: performance.now() - started,
        insertMs,
        cpuMs: (used.user + used.system) / 1000,
      };
      process.send?.(progress);
    },
    retry: (messages) => source.retry(messages),
    deadLetter: (message, reason) => source.deadLetter(message, reason),
    lag: () => source.lag(),
  };
  const counted = async (work: Promise<number>) => {
    const t = performance.now();
    const n = await work;
    insertMs += performance.now() - t;
    inserted += n;
    return n;
  };
  const countingStore: IngestStore = {
    insert: (events) => counted(store.insert(events)),
    insertColumns: (batch) => counted(store.insertColumns(batch)),
    prepareColumns: (batch) => store.prepareColumns(batch),
  };
  process.send?.("ready");
  await new Promise((resolve) => process.once("message", resolve));
  started = performance.now();
  cpu = process.cpuUsage();
  const ingester = createIngester({
    source: measured,
    store: countingStore,
    batchSize: config.batch,
    onError: (error) => console.error(`ingester: ${error.message}`),
  });
  await new Promise((resolve) => process.once("message", resolve));
  await ingester.stop();
  await store.close();
  await source.close();
}

/** Publishes EVENTS events to the stream through a BrokerEmitter (protobuf, the emitter's default). */
async function fill(natsUrl: string): Promise<number> {
  const broker = await createNatsBroker({ servers: natsUrl, maxInFlight: 256 });
  const nc = broker.connection;
  await ensureAuditStream(nc, { name: STREAM, subjects: ["audit.>"], maxBytes: 4 * 1024 * 1024 * 1024 });
  const emitter = createBrokerEmitter({
    broker,
    topic: "audit.events",
    delivery: { maxQueueEvents: EVENTS, maxQueueBytes: 512 * 1024 * 1024 },
  });
  const started = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    if (emitter.emit(benchEvent(i)) !== "accepted") throw new Error("the benchmark queue is too small");
  }
  const flushed = await emitter.flush();
  if (!flushed.ok) throw new Error(`filling the stream failed: ${JSON.stringify(emitter.stats())}`);
  const rate = (EVENTS / (performance.now() - started)) * 1000;
  await emitter.close();
  return rate;
}

/** One case: fresh database and consumer, `ingesters` processes draining the whole stream. */
async function run(servers: Servers, db: string, consumer: string, ingesters: number, batch: number) {
  const natsUrl = servers.natsUrl;
  await (await openPostgresStore({ connectionString: db })).close(); // migrates before the clock starts
  const config: IngesterConfig = { nats: natsUrl, db, consumer, batch };
  const children: ChildProcess[] = [];
  const latest: Progress[] = [];
  // Settled once every event is in, or when an ingester dies early (then the case fails, not hangs).
  let finished: (error?: Error) => void = () => {};
  const allIn = new Promise<void>((resolve, reject) => {
    finished = (error) => (error === undefined ? resolve() : reject(error));
  });
  const ready = Array.from({ length: ingesters }, (_, k) => {
    const child = fork(fileURLToPath(import.meta.url), ["--ingester", JSON.stringify(config)]);
    children.push(child);
    return new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => {
        const error = new Error(`ingester ${k} exited with ${code} before the stream was drained`);
        reject(error);
        finished(error);
      });
      child.on("message", (message) => {
        if (message === "ready") return resolve();
        latest[k] = message as Progress;
        if (latest.reduce((total, p) => total + (p?.inserted ?? 0), 0) >= EVENTS) finished();
      });
    });
  });
  await Promise.all(ready);
  // Each case starts from a checkpoint, as a server that checkpoints every few minutes mostly does:
  // the WAL written since the last one goes back to be reused.
  await withClient(servers.postgresUrl, (c) => c.query("CHECKPOINT"));
  const serverCpu = () => [treeCpuMs(servers.postgresPid), treeCpuMs(servers.natsPid)] as const;
  const [postgresBefore, natsBefore] = serverCpu();
  const started = performance.now();
  for (const child of children) child.send("go");
  await allIn;
  const seconds = (performance.now() - started) / 1000;
  const [postgresAfter, natsAfter] = serverCpu();
  await Promise.all(
    children.map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send("stop");
      return exited;
    }),
  );
  const stored = await withClient(db, (c) => c.query<{ n: string }>("SELECT count(*) n FROM audit_events"));
  if (Number(stored.rows[0]?.n) !== EVENTS) throw new Error(`stored ${stored.rows[0]?.n} of ${EVENTS}`);
  await dropDatabase(servers.postgresUrl, db);
  const perEvent = (ms: number) => (1000 * ms) / EVENTS;
  return {
    rate: EVENTS / seconds,
    insertShare: sum(latest, "insertMs") / sum(latest, "wallMs"),
    ingesters: perEvent(sum(latest, "cpuMs")),
    postgres: perEvent(postgresAfter - postgresBefore),
    nats: perEvent(natsAfter - natsBefore),
  };
}
type Run = Awaited<ReturnType<typeof run>>;

/** A case's row: the median of its rounds, and the range of the rate. */
function row(ingesters: number, batch: number, runs: readonly Run[]) {
  const mid = (key: keyof Run) => median(runs.map((r) => r[key]));
  const oneDecimal = (n: number) => Math.round(10 * n) / 10;
  const rates = runs.map((r) => Math.round(r.rate));
  const total = mid("ingesters") + mid("postgres") + mid("nats");
  return {
    ingesters,
    batch,
    "events/s": Math.round(mid("rate")),
    "min–max": `${Math.min(...rates)}–${Math.max(...rates)}`,
    insert: `${Math.round(100 * mid("insertShare"))} %`,
    "µs CPU/event: ingesters": oneDecimal(mid("ingesters")),
    postgres: oneDecimal(mid("postgres")),
    "nats-server": oneDecimal(mid("nats")),
    total: oneDecimal(total),
    "2 cores carry": Math.round((2 * 1_000_000) / total),
  };
}

const sum = (progress: readonly Progress[], key: keyof Progress) =>
  progress.reduce((total, p) => total + p[key], 0);

if (process.argv[2] === "--ingester") {
  await ingesterProcess(JSON.parse(process.argv[3] ?? "{}") as IngesterConfig);
} else {
  const nats = await startNatsServer();
  const postgres = await startPostgresServer({ settings: DURABLE_SETTINGS });
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  const loadBefore = load();
  try {
    const natsPid = findProcess(["-p", String(nats.port)]);
    if (natsPid === undefined) throw new Error("nats-server's process not found");
    const servers: Servers = {
      natsUrl: nats.url,
      postgresUrl: postgres.url,
      natsPid,
      postgresPid: postgres.pid,
    };
    const publishRate = await fill(nats.url);
    await warmUpPostgres(postgres, EVENTS);
    const runs = CASES.map((): Run[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [k, { ingesters, batch }] of CASES.entries()) {
        const db = await postgres.createDatabase();
        runs[k]?.push(await run(servers, db, `ingest-${round}-${k}`, ingesters, batch));
      }
    }
    const table = CASES.map(({ ingesters, batch }, k) => row(ingesters, batch, runs[k] ?? []));
    console.log(
      `\nIngestion NATS JetStream → PostgreSQL 15 (fsync on), ${EVENTS} events (published at ${Math.round(publishRate)} events/s), median of ${ROUNDS} rounds, node ${process.version}, ${os.availableParallelism()} CPUs, load average ${loadBefore} before and ${load()} after; target ≥ 50,000 events/s`,
    );
    console.log(
      "min–max: the rounds' rates; insert: share of the ingesters' wall time an insert was under way; µs CPU/event: CPU time (all threads and processes) of the ingesters, PostgreSQL and nats-server per event; 2 cores carry: 2 s of CPU over the total, the most this machine could ingest with nothing else running",
    );
    console.log(
      `rerun: BENCH_INGEST_EVENTS=${EVENTS} BENCH_INGEST_ROUNDS=${ROUNDS} BENCH_INGEST_CASES=${CASES.map((c) => `${c.ingesters}x${c.batch}`).join(",")} node dist-bench/bench/ingest.js`,
    );
    console.table(table);
    writeResults("ingest", {
      events: EVENTS,
      rounds: ROUNDS,
      publishRate,
      loadBefore,
      loadAfter: load(),
      table,
      runs,
    });
  } finally {
    await postgres.stop();
    await nats.stop();
  }
}
