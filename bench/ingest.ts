// Ingestion NATS JetStream → PostgreSQL: a real `nats-server -js` holding N events (default 200,000;
// BENCH_INGEST_EVENTS) that a BrokerEmitter published (protobuf), drained by createIngester +
// createNatsSource into the PostgreSQL store (the tests' server, durability on as in
// bench/postgres-store.ts), for 1 and 2 ingesters and batches of 500 and 2000. Each ingester is its own
// child process (as ingesters run), with its own connections; each case has a fresh durable consumer
// and a fresh database. Events/s is from "go" until the last event is inserted. Each ingester also
// reports where its time went: fetch, insert and ack (the source and store are wrapped to time them),
// the rest (decoding, the loop), and its CPU time. Part of `npm run bench`.
import { type ChildProcess, fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { createBrokerEmitter } from "../src/brokers/index.js";
import { createIngester, type IngestSource } from "../src/ingest/index.js";
import {
  createNatsBroker,
  createNatsSource,
  ensureAuditStream,
  type NatsSourceMessage,
} from "../src/nats/index.js";
import { openPostgresStore } from "../src/postgres/postgres-store.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { DURABLE_SETTINGS, startPostgresServer, withClient } from "../test/helpers/postgres-server.js";
import { writeResults } from "./results.js";
import { benchEvent } from "./store-events.js";

const EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 200_000);
const STREAM = "AUDIT";
/** Unacknowledged messages the consumer allows (JetStream's default, 1000, is below 2 × 2000). */
const MAX_ACK_PENDING = 20_000;
const CASES = [
  { ingesters: 1, batch: 500 },
  { ingesters: 1, batch: 2000 },
  { ingesters: 2, batch: 500 },
  { ingesters: 2, batch: 2000 },
];

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
  fetchMs: number;
  insertMs: number;
  ackMs: number;
  cpuMs: number;
}

/** An ingester process: ready once connected, starts on "go", reports each batch, ends on "stop". */
async function ingesterProcess(config: IngesterConfig): Promise<void> {
  const source = await createNatsSource({ servers: config.nats, stream: STREAM, consumer: config.consumer });
  const store = await openPostgresStore({ connectionString: config.db });
  const ms = { fetchMs: 0, insertMs: 0, ackMs: 0 };
  const timed = async <T>(key: keyof typeof ms, work: Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work;
    } finally {
      ms[key] += performance.now() - t;
    }
  };
  let started = 0;
  let cpu = process.cpuUsage();
  let inserted = 0;
  const measured: IngestSource<NatsSourceMessage> = {
    name: source.name,
    fetch: (max, wait, signal) => timed("fetchMs", source.fetch(max, wait, signal)),
    ack: async (messages) => {
      await timed("ackMs", source.ack(messages));
      const used = process.cpuUsage(cpu);
      const progress: Progress = {
        inserted,
        wallMs: performance.now() - started,
        ...ms,
        cpuMs: (used.user + used.system) / 1000,
      };
      process.send?.(progress);
    },
    retry: (messages) => source.retry(messages),
    deadLetter: (message, reason) => source.deadLetter(message, reason),
    lag: () => source.lag(),
  };
  const countingStore = {
    insert: async (events: Parameters<typeof store.insert>[0]) => {
      const n = await timed("insertMs", store.insert(events));
      inserted += n;
      return n;
    },
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
async function run(natsUrl: string, db: string, consumer: string, ingesters: number, batch: number) {
  await (await openPostgresStore({ connectionString: db })).close(); // migrates before the clock starts
  // The consumer createNatsSource would make has JetStream's default of 1000 unacknowledged messages,
  // which stalls each fetch of a larger batch until it expires: make it with room for every batch.
  const nc = await connect({ servers: natsUrl });
  await (await jetstreamManager(nc)).consumers.add(STREAM, {
    durable_name: consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: MAX_ACK_PENDING,
  });
  await nc.close();
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
  const started = performance.now();
  for (const child of children) child.send("go");
  await allIn;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(
    children.map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send("stop");
      return exited;
    }),
  );
  const stored = await withClient(db, (c) => c.query<{ n: string }>("SELECT count(*) n FROM audit_events"));
  if (Number(stored.rows[0]?.n) !== EVENTS) throw new Error(`stored ${stored.rows[0]?.n} of ${EVENTS}`);
  const share = (key: "fetchMs" | "insertMs" | "ackMs") =>
    `${Math.round((100 * sum(latest, key)) / sum(latest, "wallMs"))} %`;
  const other =
    sum(latest, "wallMs") - sum(latest, "fetchMs") - sum(latest, "insertMs") - sum(latest, "ackMs");
  return {
    ingesters,
    batch,
    "events/s": Math.round(EVENTS / seconds),
    fetch: share("fetchMs"),
    insert: share("insertMs"),
    ack: share("ackMs"),
    "decode+loop": `${Math.round((100 * other) / sum(latest, "wallMs"))} %`,
    "ingester CPU": `${Math.round((100 * sum(latest, "cpuMs")) / sum(latest, "wallMs"))} %`,
  };
}

const sum = (progress: readonly Progress[], key: keyof Progress) =>
  progress.reduce((total, p) => total + p[key], 0);

if (process.argv[2] === "--ingester") {
  await ingesterProcess(JSON.parse(process.argv[3] ?? "{}") as IngesterConfig);
} else {
  const nats = await startNatsServer();
  const postgres = await startPostgresServer({ settings: DURABLE_SETTINGS });
  try {
    const publishRate = await fill(nats.url);
    const table = [];
    for (const [k, { ingesters, batch }] of CASES.entries()) {
      table.push(await run(nats.url, await postgres.createDatabase(), `ingest-${k}`, ingesters, batch));
    }
    console.log(
      `\nIngestion NATS JetStream → PostgreSQL 15 (fsync on), ${EVENTS} events (published at ${Math.round(publishRate)} events/s), node ${process.version}; target ≥ 50,000 events/s`,
    );
    console.log(
      "fetch/insert/ack/decode+loop: share of the ingesters' wall time; CPU: their CPU time (all threads, so GC and JIT too) over it",
    );
    console.table(table);
    writeResults("ingest", { events: EVENTS, publishRate, table });
  } finally {
    await postgres.stop();
    await nats.stop();
  }
}
