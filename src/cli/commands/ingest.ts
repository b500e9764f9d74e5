import { rmSync, statSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import { createIngester, type IngestStats, type IngestStore } from "../../ingest/index.js";
import type { PostgresStore } from "../../postgres/index.js";
import { isPostgresUrl } from "../any-store.js";
import { PASSWORD_ENV, SASL_MECHANISMS } from "../broker-access.js";
import { CliError, EXIT_FAILURE, toCliError, usageError } from "../errors.js";
import { progressLine } from "../ingest-progress.js";
import { BROKER_FLAGS, type SourceFlags, sourceOpener } from "../ingest-source.js";
import { loadOptionalPeers } from "../optional-peers.js";
import { loadStoreModule, notAFile, storeArgument } from "../store-access.js";
import { withoutCredentials } from "../without-credentials.js";

interface IngestFlags extends SourceFlags {
  to: string;
  batchSize: number;
  maxWaitMs: number;
  progressMs: number;
  queryTimeoutMs?: number;
}

const EXAMPLES = `
Examples:
  $ grpc-audit ingest --from nats://nats:4222 --stream AUDIT --consumer ingest --to postgres://audit@db/audit
  $ grpc-audit ingest --from nats://a:4222,nats://b:4222 --stream AUDIT --consumer ingest --to audit.db
  $ grpc-audit ingest --from kafka://k1:9092,k2:9092 --topic audit-events --group ingest --to postgres://audit@db/audit

Run as many as you like with the same --consumer (NATS) or --group (Kafka): they share the stream or
the topic's partitions. Each event is stored once; a message is acknowledged (an offset committed)
only after its batch committed. Ctrl-C (or SIGTERM, SIGHUP) finishes the batch, exit 0. Undecodable messages
go to the dead-letter subject (default grpc-audit.dead-letter.<stream>) or topic (default
<topic>.dead-letter).

A secured broker: --tls-ca (and --tls-cert/--tls-key for mutual TLS), --user with the password in
${PASSWORD_ENV} (for Kafka also --sasl). Credentials are never taken from the URL or a flag's value.

Exit codes: 0 stopped by a signal (SIGINT, SIGTERM, SIGHUP), also one that came while starting;
1 a store or broker that cannot be used: not opened at start (a broker that never answers: after its
connect timeout), its connection closed for good, the consumer or stream deleted, or a missing optional
peer dependency; 2 bad arguments, or the broker refusing the consumer's configuration (NATS: a consumer
that would lose events, or another ack wait than --ack-wait-ms).`;

/** `grpc-audit ingest`: moves audit events from a broker into a store, until SIGINT or SIGTERM. */
export function addIngestCommand(program: Command): void {
  program
    .command("ingest")
    .description("store the events servers publish to a broker (NATS JetStream or Kafka), until Ctrl-C")
    .requiredOption(
      "--from <url>",
      "the broker: nats://host:port or kafka://host:port (several comma-separated)",
    )
    .option(BROKER_FLAGS.stream, "NATS: the JetStream stream the servers publish to (required)")
    .option(
      BROKER_FLAGS.consumer,
      "NATS: durable consumer the ingesters share, created when missing (required)",
    )
    .option(BROKER_FLAGS.subject, "NATS: only this subject of the stream, when the consumer is created")
    .option(BROKER_FLAGS.topic, "Kafka: the topic the servers publish to (required)")
    .option(BROKER_FLAGS.group, "Kafka: consumer group the ingesters share (required)")
    .option(BROKER_FLAGS.deadLetterTopic, "Kafka: where undecodable messages go")
    .addOption(
      new Option("--to <db>", "the store: postgres://… or a SQLite file (created when missing)")
        .makeOptionMandatory()
        .argParser((text: string) => storeArgument(text)),
    )
    .addOption(integerOption("--batch-size <n>", "most events per insert", 1, 10_000, 2000))
    .addOption(integerOption("--max-wait-ms <ms>", "longest wait for a batch to fill", 1000, 60_000, 1000))
    .addOption(
      integerOption(
        QUERY_TIMEOUT_FLAG,
        "PostgreSQL: longest an insert may take, then it is tried again (30000)",
        1000,
        3_600_000,
      ),
    )
    .addOption(
      integerOption(
        BROKER_FLAGS.ackWaitMs,
        "NATS: redelivery after, when the consumer is created (30000; an existing one's must match)",
        2000,
        3_600_000,
      ),
    )
    .option(BROKER_FLAGS.deadLetterSubject, "NATS: where undecodable messages go")
    .option(BROKER_FLAGS.domain, "NATS: the JetStream domain holding the stream (a leaf node's hub)")
    .option("--tls", "connect with TLS, trusting the system's CAs (implied by --tls-ca and --tls-cert)")
    .option("--tls-ca <file>", "TLS: PEM file of the CA(s) that sign the broker's certificate")
    .option("--tls-cert <file>", "TLS: PEM client certificate, with --tls-key (mutual TLS)")
    .option("--tls-key <file>", "TLS: PEM private key of --tls-cert")
    .option(
      "--user <name>",
      `broker user (NATS user, Kafka SASL user); the password is read from ${PASSWORD_ENV}`,
    )
    .option("--sasl <mechanism>", `Kafka: SASL mechanism of --user (${SASL_MECHANISMS.join(", ")})`)
    .addOption(
      integerOption("--progress-ms <ms>", "how often to print the progress line", 100, 3_600_000, 5000),
    )
    .addHelpText("after", EXAMPLES)
    .action((flags: IngestFlags) => ingest(flags));
}

/**
 * Each finishes the batch and exits 0; SIGHUP too (a closed terminal or ssh session), not killed
 * mid-batch. A second one, of any of these kinds, ends the process at once.
 */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The store's `queryTimeoutMs`: a slow link's big batches may need more than its 30 s. */
const QUERY_TIMEOUT_FLAG = "--query-timeout-ms <ms>";

/**
 * How long a stop during startup waits for a Kafka source still joining its group, so that it is
 * closed and leaves the group, in ms. A member dropped mid-join stays in the generation the join
 * completes, holding back its partitions (the whole group, as leader) until its session times out
 * (10 s). The join waits for the other members to join again, which they learn with their next
 * heartbeat (every 3 s), and a Kafka group's first join waits group.initial.rebalance.delay.ms (3 s).
 */
const LATE_JOIN_MS = 5000;

async function ingest(flags: IngestFlags): Promise<void> {
  const source = sourceOpener(flags); // usage errors before anything is opened
  const target = targetOpener(flags.to, flags.queryTimeoutMs);
  // A missing client or driver is named before anything is opened or created.
  await Promise.all([source.load(), target.load()]);
  // From the start: a signal while the store or the broker is being opened would otherwise end the
  // process at once (Node's default), without closing what was opened.
  const stopping = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (!stopping.signal.aborted) return stopping.abort();
    // A second stop signal, of any kind (a supervisor's SIGTERM, then an operator's Ctrl-C): raised
    // again without our listeners, Node's default ends the process at once (exit code 128 + its number).
    for (const each of STOP_SIGNALS) process.off(each, stop);
    process.kill(process.pid, signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, stop);
  try {
    const store = await target.open(stopping.signal);
    if (store === undefined) return stoppedDuringStartup();
    let started = false;
    try {
      if (stopping.signal.aborted) return stoppedDuringStartup();
      // A connection given up because of the signal (a broker that does not answer) is the stop.
      const opening = source.open().catch(async (error: unknown) => {
        // One turn of the event loop: a signal that came with the failure is handled first.
        await new Promise((resolve) => setImmediate(resolve));
        if (stopping.signal.aborted) return undefined;
        throw error;
      });
      // A broker that accepts but never answers holds the connect up to its 20 s timeout: a signal
      // does not wait for it (Kafka: at most LATE_JOIN_MS). A source opened after all is closed again.
      const opened = await Promise.race([opening, aborted(stopping.signal)]);
      if (opened === undefined) {
        stoppedDuringStartup();
        // A NATS source has no membership to leave: dropped at once (the server sees the connection end).
        if (/^kafka:/i.test(flags.from)) await closeWhenOpened(opening);
        else void opening.then((late) => late?.close()).catch(() => {});
        return;
      }
      try {
        if (stopping.signal.aborted) return stoppedDuringStartup();
        started = true;
        // A consumer or stream deleted fails every fetch from now on: exit 1, for a supervisor to
        // start ingest again (which creates the consumer anew), as for a connection closed for good.
        let deleted: (error: CliError) => void = () => {};
        const gone = new Promise<CliError>((resolve) => {
          deleted = resolve;
        });
        const ended = opened.ended === undefined ? gone : Promise.race([opened.ended, gone]);
        await run(
          { name: opened.source.name, warnings: opened.warnings, ended },
          createIngester({
            source: opened.source,
            store: store.target,
            batchSize: flags.batchSize,
            maxWaitMs: flags.maxWaitMs,
            onError: (error) => {
              if (error.name === "SourceGoneError") deleted(new CliError(error.message, EXIT_FAILURE));
              else process.stderr.write(`ingest: error: ${named(error, store.name)}\n`);
            },
          }),
          flags.progressMs,
          store.name,
          stopping.signal,
        );
      } finally {
        await opened.close();
      }
    } catch (error) {
      throw toCliError(error, store.name);
    } finally {
      await store.close({ started });
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
}

/**
 * What an ingester's error says: a SQLite store's as every command says it, naming the store
 * ("audit store <path>: the database is locked by another process", not SQLite's bare words).
 */
function named(error: Error, store: string): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return error.message;
  const { message } = toCliError(error, store);
  return message.startsWith("audit store ") ? message : `audit store ${store}: ${message}`;
}

/** Resolves to undefined once `signal` aborted. */
function aborted(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });
}

/**
 * Closes the source being opened once it opened, waiting for that at most LATE_JOIN_MS (its close has
 * its own bound: a Kafka leave 3 s); one that opens later is closed then, if the process still runs.
 */
async function closeWhenOpened(opening: Promise<{ close(): Promise<void> } | undefined>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), LATE_JOIN_MS);
  });
  try {
    const opened = await Promise.race([opening.catch(() => undefined), late]);
    // Stopped all the same: a failure to close (the connection lost meanwhile) is not the command's.
    if (opened !== undefined) await opened.close().catch(() => {});
    else void opening.then((source) => source?.close()).catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}

/** A signal came while the store or the source was being opened: nothing was fetched, exit 0. */
function stoppedDuringStartup(): void {
  process.stderr.write("ingest: stopped before ingesting\n");
}

/**
 * Runs until `stopping` aborts (SIGINT or SIGTERM), printing the source's warnings once, then the
 * progress line every `progressMs` and once at the end; or until the source `ended` (its connection
 * closed for good), then throws that error, once the ingester stopped.
 */
async function run(
  from: { name: string; warnings: readonly string[]; ended?: Promise<CliError | undefined> | undefined },
  ingester: ReturnType<typeof createIngester>,
  progressMs: number,
  to: string,
  stopping: AbortSignal,
): Promise<void> {
  process.stderr.write(`ingesting from ${from.name} into ${to} (Ctrl-C to stop)\n`);
  for (const warning of from.warnings) process.stderr.write(`ingest: warning: ${warning}\n`);
  const stop = () => void ingester.stop();
  stopping.addEventListener("abort", stop, { once: true });
  let ended: CliError | undefined;
  void from.ended?.then((error) => {
    if (error === undefined) return;
    ended = error;
    stop();
  });
  let previous: IngestStats = ingester.stats();
  let previousAt = performance.now();
  const report = () => {
    const stats = ingester.stats();
    const now = performance.now();
    process.stderr.write(`${progressLine(stats, previous, now - previousAt)}\n`);
    [previous, previousAt] = [stats, now];
  };
  const timer = setInterval(report, progressMs);
  try {
    await ingester.done;
  } finally {
    clearInterval(timer);
    stopping.removeEventListener("abort", stop);
  }
  report();
  process.stderr.write("ingest: stopped\n");
  if (ended !== undefined) throw ended;
}

/** The store of `--to`, opened for writing; `close` tells whether ingesting started. */
interface OpenedTarget {
  name: string;
  target: IngestStore;
  close(how: { started: boolean }): Promise<void>;
}

/**
 * What opens the store `to` names: PostgreSQL (schema created) or SQLite (file created). `to` is
 * checked at once; `load` loads the driver; `open` resolves to undefined when `stopping` aborted the
 * opening of a PostgreSQL store (a server that does not answer).
 */
function targetOpener(to: string, queryTimeoutMs: number | undefined) {
  if (isPostgresUrl(to)) {
    const load = () =>
      loadOptionalPeers(() => import("../../postgres/index.js"), "the PostgreSQL store", ["pg"]);
    return {
      load: async () => void (await load()),
      open: async (stopping: AbortSignal) => openPostgres(await load(), to, stopping, queryTimeoutMs),
    };
  }
  if (queryTimeoutMs !== undefined) throw usageError(QUERY_TIMEOUT_FLAG, "is for a postgres:// --to only");
  const stat = statSync(to, { throwIfNoEntry: false });
  // SQLite would say it cannot open the file; a named pipe or a device holds no database either.
  if (stat !== undefined && !stat.isFile())
    throw new CliError(
      `audit store ${withoutCredentials(to)}: ${notAFile(stat)}, not a database file`,
      EXIT_FAILURE,
    );
  return {
    load: async () => void (await loadStoreModule()),
    open: async (_stopping: AbortSignal) => openSqlite(await loadStoreModule(), to, stat === undefined),
  };
}

async function openPostgres(
  { openPostgresStore }: typeof import("../../postgres/index.js"),
  to: string,
  stopping: AbortSignal,
  queryTimeoutMs: number | undefined,
): Promise<OpenedTarget | undefined> {
  let store: PostgresStore;
  try {
    store = await openPostgresStore({
      connectionString: to,
      poolSize: 2,
      ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
      signal: stopping,
      // A connection of the pool lost while idle (a restart): the next insert connects again.
      onError: (error) => process.stderr.write(`ingest: error: ${error.message}\n`),
    });
  } catch (error) {
    if (stopping.aborted) return undefined;
    throw toCliError(error, "");
  }
  return { name: store.name, target: store, close: () => store.close() };
}

/**
 * The SQLite store at `to`. One this command `created` is removed again when it ends before
 * ingesting (the store or the source did not open, or a signal), unless it holds events: a failed start leaves no file.
 */
function openSqlite(
  { openAuditStore }: typeof import("../../store/audit-store.js"),
  to: string,
  created: boolean,
): OpenedTarget {
  let store: ReturnType<typeof openAuditStore>;
  try {
    store = openAuditStore({ path: to });
  } catch (error) {
    // A file it could not make a store of (a full disk leaves it empty) is not left behind either.
    if (created) removeStoreFiles(to);
    throw toCliError(error, to);
  }
  return {
    name: withoutCredentials(to),
    target: store,
    close: async ({ started }) => {
      let unused = false;
      try {
        unused = created && !started && store.lastSeq() === 0;
      } catch {
        // Unreadable now: kept, as a file this command may not have made.
      }
      store.close();
      if (unused) removeStoreFiles(to);
    },
  };
}

/** Removes the SQLite store at `path` with its -wal and -shm files. */
function removeStoreFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
}

function integerOption(
  flags: string,
  description: string,
  min: number,
  max: number,
  fallback?: number,
): Option {
  const option = new Option(flags, `${description}, ${min} to ${max}`).argParser((text) => {
    const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max))
      throw new InvalidArgumentError(`Use an integer from ${min} to ${max}.`);
    return value;
  });
  return fallback === undefined ? option : option.default(fallback);
}
