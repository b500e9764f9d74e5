// What the NATS source checks at open: a consumer made elsewhere that would lose events or read others
// than asked, and the stream's settings that remove events not yet stored.
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  type StreamConfig,
} from "@nats-io/jetstream";
import { millis, nanos } from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";

/**
 * Refuses a consumer made elsewhere that would lose events or read others than asked: without explicit
 * acks the server takes a message as done once sent (or a later ack as done for all before it), so a
 * batch whose insert failed, or an ingester that died, would lose its events silently; with a
 * `max_deliver` the server stops delivering a message after that many deliveries, so a store down for
 * as many retries (each failed insert hands its batch back at once) would lose them just as silently.
 * One that sends headers only would dead-letter every event as empty; one made to start at the newest
 * messages skipped those stored before it, uncounted. Its filter must be the asked `subject`, or, when
 * none was asked and `streamConfig` is given, cover every subject of the stream.
 * @internal
 */
export function checkConsumer(
  config: ConsumerConfig,
  stream: string,
  consumer: string,
  subject: string | undefined,
  streamConfig?: StreamConfig,
): void {
  const where = `consumer "${consumer}" of stream "${stream}"`;
  if (config.ack_policy !== AckPolicy.Explicit)
    throw new AuditConfigError(
      `nats source: ${where} has ack policy "${config.ack_policy}"; ingest needs "explicit" acks, or events ` +
        "whose insert failed are lost: delete it, or name another consumer",
    );
  const maxDeliver = config.max_deliver ?? -1;
  if (maxDeliver > 0)
    throw new AuditConfigError(
      `nats source: ${where} has max_deliver ${maxDeliver}; a message not stored after ${maxDeliver} ` +
        "deliveries (a store down, an ingester killed) is never delivered again and its event lost: " +
        "set max_deliver -1, delete it, or name another consumer",
    );
  if (config.headers_only === true)
    throw new AuditConfigError(
      `nats source: ${where} sends headers only (headers_only), without the events: each would go to ` +
        "the dead letters, empty: delete it, or name another consumer",
    );
  const skipped = SKIPPED[config.deliver_policy];
  if (skipped !== undefined)
    throw new AuditConfigError(
      `nats source: ${where} has deliver policy "${config.deliver_policy}": it skipped ${skipped} stored ` +
        "before it was made, and their events were never ingested: delete it (a new consumer reads the " +
        "whole stream; the store skips the events it holds), or name another consumer",
    );
  const filters = filtersOf(config);
  if (subject !== undefined) {
    if (filters.length !== 1 || filters[0] !== subject)
      throw new AuditConfigError(
        `nats source: ${where} filters ${filters.length === 0 ? "no subject" : JSON.stringify(filters)}, not ` +
          `"${subject}" as asked: delete it, or name another consumer`,
      );
  } else if (streamConfig !== undefined && !readsAll(streamConfig, filters))
    throw new AuditConfigError(
      `nats source: ${where} filters ${JSON.stringify(filters)}, not the whole stream as asked (no subject): ` +
        "the messages of other subjects would never be ingested: delete it, give that subject, or name " +
        "another consumer",
    );
}

/** The ack wait of a consumer that names none (the server's default). */
const JETSTREAM_ACK_WAIT_MS = 30_000;

/** A consumer's ack wait in ms. @internal */
export function ackWaitOf(config: ConsumerConfig): number {
  return millis(config.ack_wait ?? nanos(JETSTREAM_ACK_WAIT_MS));
}

/**
 * Refuses an ack wait asked of a consumer that exists with another: the server keeps the consumer's,
 * and the ingester would see messages redelivered at other times than asked, with no word of it.
 * @internal
 */
export function checkAckWait(
  config: ConsumerConfig,
  stream: string,
  consumer: string,
  askedMs: number | undefined,
): void {
  const ms = ackWaitOf(config);
  if (askedMs === undefined || askedMs === ms) return;
  throw new AuditConfigError(
    `nats source: consumer "${consumer}" of stream "${stream}" has ack wait ${ms} ms, not ${askedMs} ms as ` +
      "asked; an ack wait applies when the consumer is created: ask none to use the consumer's, change " +
      "the consumer's ack_wait, or name another consumer",
  );
}

/** The deliver policies that start a consumer past messages the stream holds, and what they skip. */
const SKIPPED: Partial<Record<string, string>> = {
  [DeliverPolicy.New]: "the messages",
  [DeliverPolicy.Last]: "all but the last message",
  [DeliverPolicy.LastPerSubject]: "all but the last message of each subject",
};

/** How the NATS source treats a stream's removals. @internal */
export interface StreamLimits {
  /**
   * One line per setting that removes messages whether ingested or not, or keeps the consumer from
   * reading some (interest retention, a start sequence or time); empty when none does.
   */
  warnings: string[];
  /** True when the consumer sees every subject of the stream, so that a skipped sequence is a removed message. */
  countable: boolean;
}

/**
 * Reads the stream's limits that delete messages before ingest may have stored them: `max_age`,
 * and with discard old `max_msgs` and `max_bytes`; `max_msgs_per_subject` unless discard new applies
 * per subject too (the server otherwise deletes a subject's oldest message to make room); interest
 * retention; and the consumer's start, when it is a sequence or a time.
 * @internal
 */
export function streamLimits(stream: StreamConfig, consumer: ConsumerConfig): StreamLimits {
  const filters = filtersOf(consumer);
  const countable = readsAll(stream, filters);
  const where = `stream "${stream.name}"`;
  const then = countable
    ? "those removed before ingest stored them are lost, and counted as lost"
    : `those removed before ingest stored them are lost, uncounted (the consumer reads only ${JSON.stringify(filters)} of it)`;
  const warnings: string[] = [];
  const maxAgeMs = millis(stream.max_age ?? 0);
  if (maxAgeMs > 0)
    warnings.push(
      `${where} removes messages after ${duration(maxAgeMs)} (max_age) whether ingested or not: ${then}; ` +
        "set max_age 0, or longer than any ingest outage",
    );
  const old = stream.discard !== DiscardPolicy.New;
  const full = [
    stream.max_msgs > 0 ? `${stream.max_msgs} messages (max_msgs)` : undefined,
    stream.max_bytes > 0 ? `${stream.max_bytes} bytes (max_bytes)` : undefined,
  ].filter((limit) => limit !== undefined);
  if (old && full.length > 0)
    warnings.push(
      `${where} deletes its oldest messages at ${full.join(" or ")} (discard old) whether ingested or not: ` +
        `${then}; use discard new, so that a full stream refuses new events instead`,
    );
  const perSubject = stream.max_msgs_per_subject ?? 0;
  if (perSubject > 0 && (old || !stream.discard_new_per_subject))
    warnings.push(
      `${where} keeps ${perSubject} messages per subject (max_msgs_per_subject) and deletes older ones ` +
        `whether ingested or not: ${then}; remove the limit, or use discard new per subject`,
    );
  warnings.push(...startWarnings(stream, consumer));
  return { warnings, countable };
}

/**
 * Interest retention deletes a message no consumer is interested in when stored (before the ingest
 * consumer existed, or outside its filter): never delivered, so never counted. A consumer made to
 * start at a sequence or a time (on purpose, unlike "new") reads nothing before it.
 */
function startWarnings(stream: StreamConfig, consumer: ConsumerConfig): string[] {
  const warnings: string[] = [];
  if (stream.retention === RetentionPolicy.Interest)
    warnings.push(
      `stream "${stream.name}" has interest retention: it deletes a message at once when no consumer is ` +
        "interested (stored before this consumer existed, or outside its filter), and once every consumer " +
        "acknowledged it: those deleted unread were never ingested, uncounted; use a stream with limits " +
        "retention (see ensureAuditStream)",
    );
  const from =
    consumer.deliver_policy === DeliverPolicy.StartSequence
      ? `stream sequence ${consumer.opt_start_seq}`
      : consumer.deliver_policy === DeliverPolicy.StartTime
        ? `${consumer.opt_start_time}`
        : undefined;
  if (from !== undefined)
    warnings.push(
      `consumer "${consumer.durable_name ?? consumer.name}" of stream "${stream.name}" starts at ${from} ` +
        `(deliver policy "${consumer.deliver_policy}"): the messages before it are not ingested, nor counted`,
    );
  return warnings;
}

function filtersOf(consumer: ConsumerConfig): string[] {
  return consumer.filter_subjects ?? (consumer.filter_subject ? [consumer.filter_subject] : []);
}

/** True when a consumer with these filters reads every subject of the stream. */
function readsAll(stream: StreamConfig, filters: readonly string[]): boolean {
  return (
    filters.length === 0 ||
    (stream.mirror === undefined &&
      (stream.sources ?? []).length === 0 &&
      stream.subjects.every((subject) => filters.some((filter) => covers(filter, subject))))
  );
}

/**
 * True when every subject `subject` (wildcards allowed) matches is matched by `filter`.
 * @internal
 */
export function covers(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (i >= s.length) return false;
    if (f[i] === ">") return true;
    if (s[i] === ">" || (f[i] !== "*" && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** A duration in its largest whole unit: "1h", "90m", "45s", "1500ms". */
function duration(ms: number): string {
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
