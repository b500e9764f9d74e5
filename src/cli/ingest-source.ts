import { AuditConfigError, toError } from "../errors/index.js";
import type { IngestSource } from "../ingest/index.js";
// Types and the option checks only: the Kafka client is loaded when the source opens.
import { type KafkaSourceOptions, resolveSourceOptions } from "../kafka/kafka-source-options.js";
import {
  type BrokerAccess,
  type BrokerAccessFlags,
  brokerAccess,
  CREDENTIALS_IN_URL,
} from "./broker-access.js";
import { CliError, EXIT_FAILURE, EXIT_USAGE, usageError } from "./errors.js";
import { loadOptionalPeers } from "./optional-peers.js";
import { holdsCredentials, withoutCredentials } from "./without-credentials.js";

/** The broker flags of `grpc-audit ingest`. */
export interface SourceFlags extends BrokerAccessFlags {
  from: string;
  stream?: string;
  consumer?: string;
  subject?: string;
  ackWaitMs?: number;
  deadLetterSubject?: string;
  domain?: string;
  topic?: string;
  group?: string;
  deadLetterTopic?: string;
}

/** The broker flags that belong to one broker, as `--help` and usage errors name them. */
export const BROKER_FLAGS = {
  stream: "--stream <name>",
  consumer: "--consumer <name>",
  subject: "--subject <subject>",
  ackWaitMs: "--ack-wait-ms <ms>",
  deadLetterSubject: "--dead-letter-subject <subject>",
  domain: "--domain <name>",
  topic: "--topic <name>",
  group: "--group <id>",
  deadLetterTopic: "--dead-letter-topic <name>",
} as const;

type BrokerFlag = keyof typeof BROKER_FLAGS;

/** An opened source, what it warns of at open, and how to close it. */
export interface OpenedSource {
  source: IngestSource;
  /** Settings of the broker that lose events, found at open (NATS: the stream's limits); printed once. */
  warnings: readonly string[];
  /**
   * Resolves to the error that ends ingesting when the source can go on no more (NATS: its connection
   * closed for good), to undefined once `close()` was called; absent when the source always goes on.
   */
  ended?: Promise<CliError | undefined>;
  close(): Promise<void>;
}

/** One broker address of a `kafka://` URL: host and optional port (9092). `_` as in NATS_SERVER: container names have it. */
const KAFKA_BROKER = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?\/?$/;

/**
 * The broker addresses of `--from kafka://host:port[,host:port…]` (each may repeat `kafka://`; the
 * port defaults to 9092); a usage error for anything else.
 */
export function kafkaBrokers(from: string): string[] {
  if (holdsCredentials(from)) throw usageError("--from <url>", CREDENTIALS_IN_URL);
  const parts = from.replace(/^kafka:\/\//i, "").split(",");
  return parts.map((part) => {
    const broker = part.replace(/^kafka:\/\//i, "");
    // @platformatic/kafka 1.x splits a "host:port" broker at its first ":" (network/utils.js parseBroker).
    if (broker.startsWith("["))
      throw usageError(
        "--from <url>",
        `takes no IPv6 address (${withoutCredentials(broker)}): the Kafka client cannot connect to one given ` +
          "as host:port; give a host name that resolves to it",
      );
    const match = KAFKA_BROKER.exec(broker);
    const port = Number(match?.[2] ?? 9092);
    if (match === null || port < 1 || port > 65_535)
      throw usageError(
        "--from <url>",
        `must be kafka://host:port (several comma-separated), got ${withoutCredentials(from)}`,
      );
    return `${match[1]}:${port}`;
  });
}

/** One server address of a `nats://` URL: host and optional port (4222); `nats://` as in KAFKA_BROKER. */
const NATS_SERVER = /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/;

/** The optional peer dependencies each broker's client needs. */
const NATS_PEERS = ["@nats-io/transport-node", "@nats-io/jetstream"] as const;
const KAFKA_PEERS = ["@platformatic/kafka"] as const;

/** What opens the source `--from` names: its client loaded first, then the broker connected to. */
export interface SourceOpener {
  /** Loads the broker's client; a missing optional peer dependency is a CliError naming it. */
  load(): Promise<void>;
  /** Connects to the broker and opens the consumer (NATS) or joins the group (Kafka). */
  open(): Promise<OpenedSource>;
}

/**
 * Checks the broker flags against `--from`'s scheme (flags of the other broker are usage errors) and
 * returns what opens the source: a JetStream consumer for nats://, a consumer-group member for kafka://.
 */
export function sourceOpener(flags: SourceFlags): SourceOpener {
  const kafka = /^kafka:\/\//i.test(flags.from);
  const only = (wanted: BrokerFlag[], unwanted: BrokerFlag[], scheme: string) => {
    for (const key of wanted)
      if (flags[key] === undefined) throw usageError(BROKER_FLAGS[key], `is required with ${scheme}`);
    for (const key of unwanted)
      if (flags[key] !== undefined) throw usageError(BROKER_FLAGS[key], `is not for ${scheme}`);
  };
  if (kafka) {
    only(
      ["topic", "group"],
      ["stream", "consumer", "subject", "ackWaitMs", "deadLetterSubject", "domain"],
      "kafka://",
    );
    const options = kafkaOptions(flags, kafkaBrokers(flags.from), brokerAccess(flags, "kafka"));
    const load = () => loadOptionalPeers(() => import("../kafka/index.js"), "the Kafka source", KAFKA_PEERS);
    return {
      load: async () => void (await load()),
      open: async () => openKafka(await load(), flags, options),
    };
  }
  const servers = natsServers(flags.from);
  only(["stream", "consumer"], ["topic", "group", "deadLetterTopic"], "nats://");
  const access = brokerAccess(flags, "nats");
  const load = () => loadOptionalPeers(() => import("../nats/index.js"), "the NATS source", NATS_PEERS);
  return {
    load: async () => void (await load()),
    open: async () => openNats(await load(), flags, servers, access),
  };
}

/**
 * The servers of `--from nats://host:port[,host:port…]` (each may repeat `nats://`; port 1 to 65535,
 * default 4222) as `nats://host:port` URLs: the client reads "a:4222,b:4222" as one server, so each
 * part gets its scheme. A usage error for anything else.
 */
export function natsServers(from: string): string[] {
  if (holdsCredentials(from)) throw usageError("--from <url>", CREDENTIALS_IN_URL);
  const scheme = /^nats:\/\//i;
  const refused = () =>
    usageError(
      "--from <url>",
      `must be nats://host:port or kafka://host:port (several comma-separated), got ${withoutCredentials(from)}`,
    );
  if (!scheme.test(from)) throw refused();
  return from.split(",").map((part) => {
    const match = NATS_SERVER.exec(part.replace(scheme, ""));
    const port = Number(match?.[2] ?? 4222);
    if (match === null || port < 1 || port > 65_535) throw refused();
    return `nats://${match[1]}:${port}`;
  });
}

async function openNats(
  { createNatsSource }: typeof import("../nats/index.js"),
  flags: SourceFlags,
  servers: string[],
  access: BrokerAccess,
): Promise<OpenedSource> {
  const source = await createNatsSource({
    servers,
    connectOptions: {
      ...(access.tls !== undefined && { tls: access.tls }),
      ...(access.user !== undefined && { user: access.user.name, pass: access.user.password }),
    },
    stream: flags.stream ?? "",
    consumer: flags.consumer ?? "",
    ...(flags.ackWaitMs === undefined ? {} : { ackWaitMs: flags.ackWaitMs }),
    ...(flags.subject === undefined ? {} : { subject: flags.subject }),
    ...(flags.deadLetterSubject === undefined ? {} : { deadLetterSubject: flags.deadLetterSubject }),
    ...(flags.domain === undefined ? {} : { domain: flags.domain }),
  }).catch((error: unknown) => {
    throw failure(withoutCredentials(flags.from), error);
  });
  let closing = false;
  // The client reconnects for ever, also through refused credentials; a connection closed all the
  // same can never fetch again: the command exits 1, for its supervisor to start it anew.
  const ended = source.connection
    .closed()
    .then((error) =>
      closing
        ? undefined
        : new CliError(
            `${source.name}: connection closed for good (${error instanceof Error ? error.message : "closed"}); ` +
              "exiting, for a supervisor to start ingest again",
            EXIT_FAILURE,
            { cause: error },
          ),
    );
  return {
    source,
    warnings: source.warnings,
    ended,
    close: () => {
      closing = true;
      return source.close();
    },
  };
}

/** The Kafka source's options from the flags, checked (a bad topic name is a usage error). */
export function kafkaOptions(
  flags: SourceFlags,
  bootstrapBrokers: string[],
  access: BrokerAccess,
): KafkaSourceOptions {
  const { tls, user, sasl } = access;
  const options: KafkaSourceOptions = {
    bootstrapBrokers,
    topic: flags.topic ?? "",
    groupId: flags.group ?? "",
    ...(flags.deadLetterTopic === undefined ? {} : { deadLetterTopic: flags.deadLetterTopic }),
    ...(tls !== undefined && { tls }),
    ...(user !== undefined &&
      sasl !== undefined && {
        sasl: { mechanism: sasl, username: user.name, password: user.password },
      }),
  };
  try {
    resolveSourceOptions(options);
  } catch (error) {
    throw flagError(error);
  }
  return options;
}

/** The flag each option of the Kafka source the flags fill comes from. */
const OPTION_FLAGS: Readonly<Record<string, string>> = {
  bootstrapBrokers: "--from <url>",
  topic: BROKER_FLAGS.topic,
  groupId: BROKER_FLAGS.group,
  deadLetterTopic: BROKER_FLAGS.deadLetterTopic,
};

/**
 * The source's option check ("kafka source: `groupId` must be …") as a usage error naming the flags
 * instead, which are what the user gave; the check itself stays the library's, in one place.
 */
function flagError(error: unknown): CliError {
  const message = toError(error).message;
  const match = /^kafka source: `(\w+)` (.*)$/s.exec(message);
  const flag = match?.[1] === undefined ? undefined : OPTION_FLAGS[match[1]];
  if (match?.[2] === undefined || flag === undefined)
    return new CliError(message, EXIT_USAGE, { cause: error });
  const problem = match[2].replace(
    /`(\w+)`/g,
    (named, option: string) => OPTION_FLAGS[option]?.split(" ")[0] ?? named,
  );
  return usageError(flag, problem);
}

async function openKafka(
  { createKafkaSource }: typeof import("../kafka/index.js"),
  flags: SourceFlags,
  options: KafkaSourceOptions,
): Promise<OpenedSource> {
  // A group it could not leave when stopping (Kafka unreachable): said, not a failure of the run.
  const warn = (error: Error) => process.stderr.write(`ingest: warning: ${error.message}\n`);
  const source = await createKafkaSource({ ...options, onError: warn }).catch((error: unknown) => {
    throw failure(withoutCredentials(flags.from), error);
  });
  return { source, warnings: [], close: () => source.close() };
}

/**
 * A source that did not open, after its URL (the source's error names the stream and consumer, or the
 * topic and group): a bad name given is a usage error, anything else a failure.
 */
function failure(what: string, error: unknown): CliError {
  const why = error instanceof Error ? error.message : String(error);
  const code = error instanceof AuditConfigError ? EXIT_USAGE : EXIT_FAILURE;
  return new CliError(`${what}: ${why}`, code, { cause: error });
}
