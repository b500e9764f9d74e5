// The options of the NATS source, and their checks: a bad one is an AuditConfigError naming it.
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { checkServers } from "./server-list.js";

/** Options of `createNatsSource`. Give either `connection` or `servers`. */
export interface NatsSourceOptions {
  /** The application's open NATS connection; the source never closes it. Default: none. */
  connection?: NatsConnection;
  /** Server URLs to connect to when no `connection` is given; the source then owns and drains it. Default: none. */
  servers?: string | string[];
  /**
   * Further options of the connection the source opens. Default: name "grpc-audit-ingest", reconnecting
   * for ever, also through authentication errors (`ignoreAuthErrorAbort: true`: the client otherwise
   * gives up after two in a row, as while a password is being changed on the servers), and a ping
   * every 10 s (`pingInterval`; the client's default is 2 min), so that a connection whose path was
   * cut silently is given up and made again within 30 s. A connection closed for good (reconnect
   * attempts limited here and run out) makes every later fetch fail, naming the reason.
   */
  connectOptions?: Omit<NodeConnectionOptions, "servers">;
  /**
   * The JetStream domain that holds `stream`, such as the hub's when the connection goes to a leaf
   * node with its own JetStream: the source's API requests then go to `$JS.<domain>.API`. Default:
   * none, the JetStream of the server connected to (or the one its account imports).
   */
  domain?: string;
  /** The stream the servers publish audit events to (see `ensureAuditStream`). */
  stream: string;
  /**
   * The durable pull consumer every ingester of this stream shares; created (explicit ack) when
   * missing, used as it is when it exists, unless it would lose events or read others than asked
   * (refused at open, naming the setting).
   */
  consumer: string;
  /** Only messages of this subject (wildcards allowed), when the consumer is created. Default: all of the stream. */
  subject?: string;
  /**
   * How long the server waits for an ingester's ack before it redelivers a message to another, when
   * the consumer is created, in ms; at least 2000. Longer than a batch takes to insert. A fetch waits
   * at most half the consumer's ack wait (1000 ms at least) for its batch to fill. Given for a consumer
   * that exists with another ack wait, open refuses it (the server keeps the consumer's). Default:
   * 30000 for a new consumer, the existing consumer's own.
   */
  ackWaitMs?: number;
  /** Subject undecodable messages are published to. Default: `grpc-audit.dead-letter.<stream>`. */
  deadLetterSubject?: string;
  /**
   * The stream that keeps the dead letters; created when missing, capturing `deadLetterSubject`. One
   * that exists is used as it is (its subjects and limits unchanged); it must capture
   * `deadLetterSubject`. Default: `<stream>_DEAD_LETTER`.
   */
  deadLetterStream?: string;
}

/** The ack wait of a consumer the source creates when `ackWaitMs` is not given. @internal */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** The shortest pull the JetStream client takes. @internal */
export const MIN_FETCH_WAIT_MS = 1000;
/**
 * The shortest `ackWaitMs`: a fetch waits at most half the ack wait, and never less than the
 * shortest pull: a shorter one would let messages come again into the fetch still holding them.
 */
const MIN_ACK_WAIT_MS = 2 * MIN_FETCH_WAIT_MS;

/** `NatsSourceOptions` checked, with their defaults. @internal */
export interface ResolvedOptions {
  connection: NatsConnection | undefined;
  servers: string | string[];
  connectOptions: Omit<NodeConnectionOptions, "servers">;
  domain: string | undefined;
  stream: string;
  consumer: string;
  subject: string | undefined;
  /** As asked; undefined when not given. */
  ackWaitMs: number | undefined;
  deadLetterSubject: string;
  deadLetterStream: string;
}

const KNOWN_OPTIONS: readonly (keyof NatsSourceOptions)[] = [
  "connection",
  "servers",
  "connectOptions",
  "domain",
  "stream",
  "consumer",
  "subject",
  "ackWaitMs",
  "deadLetterSubject",
  "deadLetterStream",
];

/** Checks `options`: an AuditConfigError naming the first bad one. @internal */
export function resolveOptions(options: NatsSourceOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("nats source: options must be an object");
  rejectUnknownOptions("nats source", options, KNOWN_OPTIONS);
  const { connection, servers, connectOptions = {}, domain, stream, consumer, subject } = options;
  if ((connection === undefined) === (servers === undefined))
    throw new AuditConfigError("nats source: give exactly one of `connection` and `servers`");
  if (servers !== undefined) checkServers("nats source", servers);
  const name = (key: string, value: unknown, pattern: RegExp) => {
    if (typeof value !== "string" || !pattern.test(value))
      throw new AuditConfigError(
        `nats source: \`${key}\` must be a ${pattern === NAME ? "stream or consumer name" : "subject"}, got ${shown(value)}`,
      );
    return value;
  };
  if (domain !== undefined && (typeof domain !== "string" || !NAME.test(domain)))
    throw new AuditConfigError(
      `nats source: \`domain\` must be a JetStream domain name (no spaces, dots or wildcards), got ${shown(domain)}`,
    );
  name("stream", stream, NAME);
  name("consumer", consumer, NAME);
  if (subject !== undefined) name("subject", subject, SUBJECT);
  const { ackWaitMs } = options;
  if (ackWaitMs !== undefined && (!Number.isInteger(ackWaitMs) || ackWaitMs < MIN_ACK_WAIT_MS))
    throw new AuditConfigError(
      `nats source: \`ackWaitMs\` must be an integer of at least ${MIN_ACK_WAIT_MS}, got ${shown(ackWaitMs)}`,
    );
  const deadLetterSubject = name(
    "deadLetterSubject",
    options.deadLetterSubject ?? `grpc-audit.dead-letter.${stream}`,
    SUBJECT,
  );
  const deadLetterStream = name(
    "deadLetterStream",
    options.deadLetterStream ?? `${stream}_DEAD_LETTER`,
    NAME,
  );
  return {
    connection,
    servers: servers ?? [],
    connectOptions,
    domain,
    stream,
    consumer,
    subject,
    ackWaitMs,
    deadLetterSubject,
    deadLetterStream,
  };
}

/** Stream and consumer names: no spaces, dots, wildcards or path separators. */
const NAME = /^[^\s.*>/\\]+$/;
/** Subjects: dot-separated tokens without spaces. */
const SUBJECT = /^[^\s.]+(\.[^\s.]+)*$/;
