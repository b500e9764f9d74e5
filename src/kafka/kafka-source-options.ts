import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { ConsumerOptions, ProducerOptions, SASLOptions } from "@platformatic/kafka";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { KafkaProducer } from "./kafka-broker-options.js";
import type { KafkaConsumer } from "./message-stream.js";
import { checkSecurityOptions } from "./security-options.js";

/** Options of `createKafkaSource`. */
export interface KafkaSourceOptions {
  /** Brokers to fetch cluster metadata from, as "host:port". */
  bootstrapBrokers: string[];
  /** The topic the servers' broker emitters publish audit events to. */
  topic: string;
  /** The consumer group every ingester of this topic shares; its committed offsets are where they resume. */
  groupId: string;
  /** Client id the brokers see in logs and quotas. Default: "grpc-audit-ingest". */
  clientId?: string;
  /** Topic undecodable messages are sent to. Default: `<topic>.dead-letter`. */
  deadLetterTopic?: string;
  /** TLS options (`node:tls` connect options: ca, cert, key, servername), passed through. Default: plain TCP. */
  tls?: TlsOptions;
  /** SASL mechanism and credentials, passed through. Default: none. */
  sasl?: SASLOptions;
  /**
   * Connect and request timeout in ms. Default: the client's (5000 and 30000). Keep it above the
   * group session timeout (10000): joining waits that long for a member that stopped without leaving.
   */
  timeoutMs?: number;
  /**
   * Called with what goes wrong outside a call's own result: leaving the group on `close()` when
   * Kafka does not answer (close resolves all the same). Default: none.
   */
  onError?: (error: Error) => void;
  /**
   * Builds the consumer (for tests or custom wiring). Default: `new Consumer(options)` of
   * `@platformatic/kafka`. The source owns the consumer and closes it.
   */
  createConsumer?: (options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>) => KafkaConsumer;
  /**
   * Builds the dead-letter producer on the first dead letter (for tests or custom wiring). Default:
   * `new Producer(options)` of `@platformatic/kafka`, idempotent, acknowledged by all in-sync replicas.
   */
  createProducer?: (options: ProducerOptions<Buffer, Buffer, Buffer, Buffer>) => KafkaProducer;
}

/** The options with their defaults, checked. @internal */
export type ResolvedSourceOptions = {
  readonly [K in keyof KafkaSourceOptions]-?: K extends OptionalWithoutDefault
    ? KafkaSourceOptions[K] | undefined
    : NonNullable<KafkaSourceOptions[K]>;
};
type OptionalWithoutDefault = "tls" | "sasl" | "timeoutMs" | "onError" | "createConsumer" | "createProducer";

/** Kafka's legal topic names: up to 249 of letters, digits, ".", "_" and "-". */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER = /^[^:\s]+:\d+$/;

/** The option names of `KafkaSourceOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  bootstrapBrokers: 1,
  topic: 1,
  groupId: 1,
  clientId: 1,
  deadLetterTopic: 1,
  tls: 1,
  sasl: 1,
  timeoutMs: 1,
  onError: 1,
  createConsumer: 1,
  createProducer: 1,
} satisfies Record<keyof KafkaSourceOptions, 1>);

/**
 * Checks the options of `createKafkaSource` and fills in the defaults; throws an AuditConfigError
 * naming the option.
 * @internal
 */
export function resolveSourceOptions(options: KafkaSourceOptions): ResolvedSourceOptions {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("kafka source: options must be an object");
  rejectUnknownOptions("kafka source", options, OPTION_NAMES);
  const { bootstrapBrokers, topic, groupId, timeoutMs, onError, createConsumer, createProducer } = options;
  if (
    !Array.isArray(bootstrapBrokers) ||
    bootstrapBrokers.length === 0 ||
    bootstrapBrokers.some((b) => typeof b !== "string" || !BROKER.test(b))
  )
    throw new AuditConfigError('kafka source: `bootstrapBrokers` must be a non-empty list of "host:port"');
  const topicName = (key: string, value: unknown) => {
    if (typeof value !== "string" || !TOPIC.test(value))
      throw new AuditConfigError(
        `kafka source: \`${key}\` must be a Kafka topic name (letters, digits, ".", "_", "-"), got ${JSON.stringify(value)}`,
      );
    return value;
  };
  topicName("topic", topic);
  if (typeof groupId !== "string" || groupId.trim() === "")
    throw new AuditConfigError("kafka source: `groupId` must be a non-empty string");
  const clientId = options.clientId ?? "grpc-audit-ingest";
  if (typeof clientId !== "string" || clientId === "")
    throw new AuditConfigError("kafka source: `clientId` must be a non-empty string");
  const deadLetterTopic = topicName("deadLetterTopic", options.deadLetterTopic ?? `${topic}.dead-letter`);
  if (deadLetterTopic === topic)
    throw new AuditConfigError("kafka source: `deadLetterTopic` must differ from `topic`");
  if (timeoutMs !== undefined) checkTimerMs("kafka source: `timeoutMs`", timeoutMs);
  checkSecurityOptions(options.tls, options.sasl, (option) => `kafka source: \`${option}\``);
  for (const [key, value] of [
    ["onError", onError],
    ["createConsumer", createConsumer],
    ["createProducer", createProducer],
  ] as const)
    if (value !== undefined && typeof value !== "function")
      throw new AuditConfigError(`kafka source: \`${key}\` must be a function`);
  return {
    bootstrapBrokers,
    topic,
    groupId,
    clientId,
    deadLetterTopic,
    tls: options.tls,
    sasl: options.sasl,
    timeoutMs,
    onError,
    createConsumer,
    createProducer,
  };
}
