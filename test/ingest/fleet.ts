/** What the ingestion tests share: a real nats-server and PostgreSQL, streams, and servers' trails. */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { BrokerEncoding } from "../../src/brokers/event-headers.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createIngester, type IngestStore } from "../../src/ingest/index.js";
import { createNatsBroker, createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, startCli, tempDir } from "../cli/helpers.js";
import { until as untilHolds } from "../helpers/fake-sink.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

let streams = 0;

/** A fresh stream capturing `<prefix>.>`, so tests do not see each other's messages. */
export async function freshStream(nc: NatsConnection): Promise<{ stream: string; topic: string }> {
  streams++;
  const stream = `AUDIT_${process.pid}_${streams}`;
  await ensureAuditStream(nc, { name: stream, subjects: [`audit${streams}.>`] });
  return { stream, topic: `audit${streams}.events` };
}

/**
 * One server's trail, recorded by a real Recorder (chain and checkpoints) through a real broker
 * emitter to `topic`: `count` mutations, then the recorder's close. Resolves to the events it recorded.
 */
export function publishTrail(
  url: string,
  topic: string,
  count: number,
  encoding: BrokerEncoding = "protobuf",
): Promise<AuditEvent[]> {
  return publishRecorded(url, topic, (recorder) => recordMutations(recorder, count), encoding);
}

/** What `record` records through a real Recorder and broker emitter to `topic`, then the recorder's close. */
export async function publishRecorded(
  url: string,
  topic: string,
  record: (recorder: Recorder) => void,
  encoding: BrokerEncoding = "protobuf",
): Promise<AuditEvent[]> {
  const broker = await createNatsBroker({ servers: url });
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory, createBrokerEmitter({ broker, topic, encoding })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 50 },
  });
  record(recorder);
  const closed = await recorder.close();
  await broker.close();
  if (!closed.ok) throw new Error(`the recorder did not deliver every event: ${JSON.stringify(closed)}`);
  return [...memory.events];
}

/** Each event id in the PostgreSQL store at `url`, with how many rows hold it. */
export async function storedIds(url: string): Promise<Map<string, number>> {
  return withClient(url, async (client) => {
    const result = await client.query<{ event_id: string; n: string }>(
      "SELECT event_id, count(*) n FROM audit_events GROUP BY event_id",
    );
    return new Map(result.rows.map((r) => [r.event_id, Number(r.n)]));
  });
}

/** A connection to `url` for a test's own use (closed by the caller). */
export const natsConnection = (url: string) => connect({ servers: url });

/** The nats-server of a test file that calls `useIngestNats`, and a connection to it. */
export interface IngestNats {
  nats: NatsServer;
  nc: NatsConnection;
}

/**
 * Starts a real nats-server (and builds the CLI) before the calling file's tests, with a connection
 * to it, and stops both after them. The fields are set once the tests run.
 */
export function useIngestNats(): IngestNats {
  const suite = {} as IngestNats;
  beforeAll(async () => {
    [suite.nats] = await Promise.all([startNatsServer(), ensureBuilt()]);
    suite.nc = await natsConnection(suite.nats.url);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await suite.nc?.close();
    await suite.nats?.stop();
  });
  return suite;
}

/** The servers of a test file that calls `useFleetServers`, and a connection to the nats-server. */
export interface FleetServers extends IngestNats {
  postgres: PostgresServer;
}

/**
 * Starts a real nats-server and PostgreSQL (with `buildCli`, builds the CLI too) before the calling
 * file's tests, with a connection to the nats-server, and stops them after its tests; the start may
 * take 60 s, or BUILD_TIMEOUT_MS with the build. The fields are set once the tests run. Hooks the
 * file registers after this call run after these before its tests, and before these after them.
 */
export function useFleetServers(options: { buildCli?: boolean } = {}): FleetServers {
  const suite = {} as FleetServers;
  beforeAll(
    async () => {
      [suite.nats, suite.postgres] = await Promise.all([
        startNatsServer(),
        startPostgresServer(),
        options.buildCli === true ? ensureBuilt() : undefined,
      ]);
      suite.nc = await natsConnection(suite.nats.url);
    },
    options.buildCli === true ? BUILD_TIMEOUT_MS : 60_000,
  );
  afterAll(async () => {
    await suite.nc?.close();
    await Promise.all([suite.nats?.stop(), suite.postgres?.stop()]);
  });
  return suite;
}

/** Polls `done` every 20 ms until it is true, as fake-sink's `until` (no deadline of its own). */
export function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return untilHolds(done, { message: () => what, everyMs: 20 });
}

/**
 * Ingests what `stream` holds into `store` until one batch is stored (or its insert failed twice),
 * then stops; resolves to the ingester's stats and the messages of the errors it reported.
 */
export async function ingestOneBatch(nc: NatsConnection, stream: string, store: IngestStore) {
  const source = await createNatsSource({ connection: nc, stream, consumer: "ingest" });
  const errors: string[] = [];
  const ingester = createIngester({
    source,
    store,
    retryDelayMs: 10,
    onError: (e) => errors.push(e.message),
  });
  try {
    await until(
      () => ingester.stats().batches > 0 || ingester.stats().errors > 1,
      "the batch stored, or its insert failing",
    );
  } finally {
    await ingester.stop();
  }
  return { stats: ingester.stats(), errors };
}

/** `<keyId>=<pem file>` for `verify --public-key`: the trails' checkpoint key, written to a new file. */
export function publicKeyArgument(): string {
  const keyFile = join(tempDir(), "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  return `${KEY_ID}=${keyFile}`;
}

/** A running `grpc-audit ingest` of `stream` at `natsUrl` into `to`, and what it printed so far. */
export function startIngest(natsUrl: string, stream: string, to: string, ...extra: string[]) {
  const child = startCli([
    "ingest",
    "--from",
    natsUrl,
    "--stream",
    stream,
    "--consumer",
    "ingest",
    "--to",
    to,
    "--progress-ms",
    "100",
    ...extra,
  ]);
  const out = { stderr: "", stdout: "" };
  child.stderr?.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  const exited = once(child, "close").then(([code, signal]) => ({ code, signal }));
  return { child, out, exited };
}
