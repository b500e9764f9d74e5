import type { ConnectionOptions as TlsOptions } from "node:tls";
import {
  type CompressionAlgorithmValue,
  ProduceAcks,
  Producer,
  type ProducerOptions,
  type SASLOptions,
  type SendOptions,
} from "@platformatic/kafka";

import { AuditConfigError } from "../errors/index.js";
import { checkName, checkTimerMs, shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { checkSecurityOptions } from "./security-options.js";

/** The part of `@platformatic/kafka`'s Producer the broker uses; tests inject a fake of it. */
export interface KafkaProducer {
  /**
   * Sends one chunk of a batch (up to `maxRequestBytes`) with `acks: -1`, idempotent; resolves once
   * the brokers acknowledged it, else rejects. The resolved value is ignored.
   */
  send(options: SendOptions<Buffer, Buffer, Buffer, Buffer>): Promise<unknown>;
  /**
   * Disconnects; called once by the broker's `close`, after in-flight publishes settled, or when the
   * broker replaces a producer whose sequence Kafka refuses.
   */
  close(): Promise<void>;
}

/** Kafka compression codecs. */
export type KafkaCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** Options of `createKafkaBroker`. */
export interface KafkaBrokerOptions {
  /** Brokers to fetch cluster metadata from, as "host:port". */
  bootstrapBrokers: string[];
  /** Client id the brokers see in logs and quotas. */
  clientId: string;
  /** Compression of record batches. Default: "none". */
  compression?: KafkaCompression;
  /** TLS options (`node:tls` connect options: ca, cert, key, servername), passed through. Default: plain TCP. */
  tls?: TlsOptions;
  /** SASL mechanism and credentials, passed through. Default: none. */
  sasl?: SASLOptions;
  /**
   * Largest message (key, value and headers) to send, in bytes. Default: 1000000, under the broker's
   * default `message.max.bytes` (1048588) with room for record overhead. Larger messages are refused.
   */
  maxMessageBytes?: number;
  /**
   * Most bytes of the uncompressed record batch sent in one produce request (the 61-byte batch header
   * and each record as Kafka encodes it: key, value, headers, their lengths and the record's own
   * fields); a larger batch is sent in several, in order. Default: 1000000, under the broker's default
   * `message.max.bytes` (1048588), so a batch of many small messages is not refused as too large.
   */
  maxRequestBytes?: number;
  /** Connect and request timeout in ms. Default: the client's (5000 and 30000). */
  timeoutMs?: number;
  /** Name in stats and errors. Default: "kafka". */
  name?: string;
  /**
   * Builds the producer from the options above (for tests or custom wiring). Default: `new Producer(options)`
   * of `@platformatic/kafka`. The broker owns the producer and closes it. Called again, with the same
   * options, when Kafka refuses the producer's sequence numbers (OUT_OF_ORDER_SEQUENCE_NUMBER and the
   * like): the old producer is closed and the new one gets a new producer id.
   */
  createProducer?: (options: ProducerOptions<Buffer, Buffer, Buffer, Buffer>) => KafkaProducer;
}

const DEFAULTS = Object.freeze({
  compression: "none" as KafkaCompression,
  maxMessageBytes: 1_000_000,
  maxRequestBytes: 1_000_000,
  name: "kafka",
});

/** The option names of `KafkaBrokerOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  bootstrapBrokers: 1,
  clientId: 1,
  compression: 1,
  tls: 1,
  sasl: 1,
  maxMessageBytes: 1,
  maxRequestBytes: 1,
  timeoutMs: 1,
  name: 1,
  createProducer: 1,
} satisfies Record<keyof KafkaBrokerOptions, 1>);

const PRODUCER_RETRIES = 3;

const COMPRESSIONS: readonly unknown[] = ["none", "gzip", "snappy", "lz4", "zstd"];

const LABEL = "kafka broker";

const fail = (message: string): never => {
  throw new AuditConfigError(`${LABEL}: ${message}`);
};

/**
 * Checks the options of `createKafkaBroker` and fills in the defaults; throws an AuditConfigError
 * naming the factory and the option.
 * @internal
 */
export function resolveBrokerOptions(options: KafkaBrokerOptions) {
  if (typeof options !== "object" || options === null)
    fail(`options must be an object with \`bootstrapBrokers\` and \`clientId\`, got ${shown(options)}`);
  rejectUnknownOptions(LABEL, options, OPTION_NAMES);
  const { bootstrapBrokers, clientId, timeoutMs } = options;
  const compression = options.compression ?? DEFAULTS.compression;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes;
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULTS.maxRequestBytes;
  const name = options.name ?? DEFAULTS.name;
  if (
    !Array.isArray(bootstrapBrokers) ||
    bootstrapBrokers.length === 0 ||
    bootstrapBrokers.some((b) => typeof b !== "string" || !/^[^:\s]+:\d+$/.test(b))
  )
    fail('`bootstrapBrokers` must be a non-empty list of "host:port"');
  if (typeof clientId !== "string" || clientId === "") fail("`clientId` must be a non-empty client id");
  checkName(LABEL, options.name);
  if (!COMPRESSIONS.includes(compression))
    fail(`\`compression\` must be one of ${COMPRESSIONS.join(", ")}, got ${shown(compression)}`);
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0)
    fail(`\`maxMessageBytes\` must be a positive integer, got ${shown(maxMessageBytes)}`);
  if (options.maxRequestBytes === undefined && maxMessageBytes > maxRequestBytes)
    // The user set only the message limit: name it, and the request limit it must fit in.
    fail(
      `\`maxMessageBytes\` must be at most \`maxRequestBytes\` (default ${maxRequestBytes}), got ${maxMessageBytes}; raise both`,
    );
  if (!Number.isInteger(maxRequestBytes) || maxRequestBytes < maxMessageBytes)
    fail(
      `\`maxRequestBytes\` must be an integer of at least \`maxMessageBytes\` (${maxMessageBytes}), got ${shown(maxRequestBytes)}`,
    );
  if (timeoutMs !== undefined) checkTimerMs(`${LABEL}: \`timeoutMs\``, timeoutMs);
  checkSecurityOptions(options.tls, options.sasl, (option) => `${LABEL}: \`${option}\``);
  if (options.createProducer !== undefined && typeof options.createProducer !== "function")
    fail("`createProducer` must be a function returning a producer");
  const createProducer =
    options.createProducer ??
    ((producerOptions: ProducerOptions<Buffer, Buffer, Buffer, Buffer>) => new Producer(producerOptions));
  return { compression, maxMessageBytes, maxRequestBytes, name, createProducer };
}

/** The options of the `@platformatic/kafka` producer the broker builds. @internal */
export function producerOptions(
  options: KafkaBrokerOptions,
  compression: KafkaCompression,
): ProducerOptions<Buffer, Buffer, Buffer, Buffer> {
  return {
    clientId: options.clientId,
    bootstrapBrokers: [...options.bootstrapBrokers],
    idempotent: true,
    acks: ProduceAcks.ALL,
    // An idempotent producer otherwise retries for ever, so publish would never settle during an
    // outage; the delivery pipeline retries the batch itself, and spools or drops by its policy.
    retries: PRODUCER_RETRIES,
    compression: compression satisfies CompressionAlgorithmValue,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
    ...(options.timeoutMs === undefined
      ? {}
      : { connectTimeout: options.timeoutMs, requestTimeout: options.timeoutMs, timeout: options.timeoutMs }),
  };
}
