import { type Command, InvalidArgumentError, Option } from "commander";
import { createIngester, type IngestStats, type IngestStore } from "../../ingest/index.js";
import { isPostgresUrl } from "../any-store.js";
import { CliError, EXIT_FAILURE, toCliError, usageError } from "../errors.js";
import { progressLine } from "../ingest-progress.js";
import { loadStoreModule } from "../store-access.js";

interface IngestFlags {
  from: string;
  stream: string;
  consumer: string;
  subject?: string;
  to: string;
  batchSize: number;
  maxWaitMs: number;
  ackWaitMs: number;
  deadLetterSubject?: string;
  progressMs: number;
}

const EXAMPLES = `
Examples:
  $ grpc-audit ingest --from nats://nats:4222 --stream AUDIT --consumer ingest --to postgres://audit@db/audit
  $ grpc-audit ingest --from nats://a:4222,nats://b:4222 --stream AUDIT --consumer ingest --to audit.db

Run as many as you like with the same --consumer: they share the stream. Each event is stored once;
a message is acknowledged only after its batch committed. Ctrl-C (or SIGTERM) finishes the batch, exit 0.
Undecodable messages go to the dead-letter subject (default grpc-audit.dead-letter.<stream>).`;

/** `grpc-audit ingest`: moves audit events from a broker into a store, until SIGINT or SIGTERM. */
export function addIngestCommand(program: Command): void {
  program
    .command("ingest")
    .description("store the events servers publish to a broker (NATS JetStream), until Ctrl-C")
    .requiredOption("--from <url>", "the broker: nats://host:port (several comma-separated)")
    .requiredOption("--stream <name>", "the JetStream stream the servers publish to")
    .requiredOption("--consumer <name>", "durable consumer the ingesters share (created when missing)")
    .option("--subject <subject>", "only this subject of the stream, when the consumer is created")
    .requiredOption("--to <db>", "the store: postgres://… or a SQLite file (created when missing)")
    .addOption(integerOption("--batch-size <n>", "most events per insert", 1, 10_000, 500))
    .addOption(integerOption("--max-wait-ms <ms>", "longest wait for a batch to fill", 1000, 60_000, 1000))
    .addOption(
      integerOption(
        "--ack-wait-ms <ms>",
        "redelivery after, when the consumer is created",
        1000,
        3_600_000,
        30_000,
      ),
    )
    .option("--dead-letter-subject <subject>", "where undecodable messages go")
    .addOption(
      integerOption("--progress-ms <ms>", "how often to print the progress line", 100, 3_600_000, 5000),
    )
    .addHelpText("after", EXAMPLES)
    .action((flags: IngestFlags) => ingest(flags));
}

async function ingest(flags: IngestFlags): Promise<void> {
  if (/^kafka:\/\//i.test(flags.from))
    throw usageError("--from <url>", "kafka:// is not supported yet: use nats://");
  const servers = flags.from.split(",");
  if (!servers.every((s) => /^nats:\/\/[^\s/]+\/?$/i.test(s)))
    throw usageError("--from <url>", `must be nats://host:port (several comma-separated), got ${flags.from}`);
  const store = await openTarget(flags.to);
  try {
    const { createNatsSource } = await import("../../nats/index.js");
    const source = await createNatsSource({
      servers,
      stream: flags.stream,
      consumer: flags.consumer,
      ackWaitMs: flags.ackWaitMs,
      ...(flags.subject === undefined ? {} : { subject: flags.subject }),
      ...(flags.deadLetterSubject === undefined ? {} : { deadLetterSubject: flags.deadLetterSubject }),
    }).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new CliError(`nats ${flags.from} stream ${flags.stream}: ${why}`, EXIT_FAILURE, { cause: error });
    });
    try {
      await run(
        source.name,
        createIngester({
          source,
          store: store.target,
          batchSize: flags.batchSize,
          maxWaitMs: flags.maxWaitMs,
          onError: (error) => process.stderr.write(`ingest: error: ${error.message}\n`),
        }),
        flags.progressMs,
        store.name,
      );
    } finally {
      await source.close();
    }
  } catch (error) {
    throw toCliError(error, store.name);
  } finally {
    await store.close();
  }
}

/** Runs until SIGINT or SIGTERM, printing the progress line every `progressMs` and once at the end. */
async function run(
  from: string,
  ingester: ReturnType<typeof createIngester>,
  progressMs: number,
  to: string,
): Promise<void> {
  process.stderr.write(`ingesting from ${from} into ${to} (Ctrl-C to stop)\n`);
  const stop = () => void ingester.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let previous: IngestStats = ingester.stats();
  let previousAt = Date.now();
  const report = () => {
    const stats = ingester.stats();
    const now = Date.now();
    process.stderr.write(`${progressLine(stats, previous, now - previousAt)}\n`);
    [previous, previousAt] = [stats, now];
  };
  const timer = setInterval(report, progressMs);
  try {
    await ingester.done;
  } finally {
    clearInterval(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  report();
  process.stderr.write("ingest: stopped\n");
}

/** The store `to` names, opened for writing: PostgreSQL (schema created) or SQLite (file created). */
async function openTarget(
  to: string,
): Promise<{ name: string; target: IngestStore; close(): Promise<void> }> {
  if (isPostgresUrl(to)) {
    const { openPostgresStore } = await import("../../postgres/index.js");
    const store = await openPostgresStore({ connectionString: to, poolSize: 2 }).catch((error: unknown) => {
      throw toCliError(error, "");
    });
    return { name: store.name, target: store, close: () => store.close() };
  }
  const { openAuditStore } = await loadStoreModule();
  try {
    const store = openAuditStore({ path: to });
    return { name: to, target: store, close: async () => store.close() };
  } catch (error) {
    throw toCliError(error, to);
  }
}

function integerOption(
  flags: string,
  description: string,
  min: number,
  max: number,
  fallback: number,
): Option {
  return new Option(flags, `${description}, ${min} to ${max}`)
    .argParser((text) => {
      const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
      if (!(value >= min && value <= max))
        throw new InvalidArgumentError(`Use an integer from ${min} to ${max}.`);
      return value;
    })
    .default(fallback);
}
