import { type ConsumeOptions, Consumer, ProduceAcks, Producer } from "@platformatic/kafka";
import { unlessAborted } from "../delivery/unless-aborted.js";
import { report } from "../errors/report.js";
import { DeadLetterNotAckedError } from "../ingest/ingester.js";
import type { IngestSource } from "../ingest/source.js";
import { CommittedPastEndError, createGroupOffsets } from "./group-offsets.js";
import { guardConnections, releaseConnections } from "./guard-connections.js";
import type { KafkaProducer } from "./kafka-broker-options.js";
import { kafkaErrorText } from "./kafka-error-text.js";
import { cutDeadLetter, deadLetter, type KafkaSourceMessage } from "./kafka-source-message.js";
import { type KafkaSourceOptions, resolveSourceOptions } from "./kafka-source-options.js";
import { commitsInGeneration, type OpenStream, openWatched, take } from "./message-stream.js";
import { outOfRange } from "./retention-loss.js";
import { refusedAsTooLarge } from "./too-large.js";

/** An IngestSource on a Kafka consumer group. */
export interface KafkaSource extends IngestSource<KafkaSourceMessage> {
  /**
   * Messages the broker removed (retention.ms, retention.bytes, DeleteRecords) before they were
   * stored, counted since the source opened. Kafka tells when a read starts below a partition's log
   * start offset: the source then commits the log start and reads on from there, counting the
   * messages from the group's committed offset up to it, less those it stored or has out (these count
   * when handed back by `retry`). A partition the group never committed on starts at its log start,
   * and what was removed before is not counted (a new group, or offsets expired after the broker's
   * offsets.retention.minutes). Messages compaction removes are not counted (an audit topic uses
   * cleanup.policy=delete), nor are transaction markers (not messages). A partition that moved to
   * another member while its loss was being committed is not counted by either.
   */
  lost(): number;
  /**
   * Closes the stream, leaves the group and closes the dead-letter producer. Never rejects for a group
   * it cannot leave (Kafka unreachable): that goes to `onError`, and the member's partitions move to
   * the others once its session times out.
   */
  close(): Promise<void>;
}

/**
 * Opens the source ingesters pull audit events from: a member of the Kafka consumer group `groupId`
 * reading `topic`. Every ingester with the same group id shares the topic's partitions (Kafka assigns
 * each partition to one member, and moves it when a member joins, leaves or dies). Offsets are
 * committed only for stored messages, per partition the offset below which every message is stored;
 * a member starting on a partition reads from its committed offset (from the earliest without one).
 * An ack waits at most 5 s for Kafka to confirm its commit, then rejects (what it left uncommitted is
 * read again). After a rebalance the source reads its partitions anew from their committed offsets,
 * and commits what it handed out before only for partitions it kept: it never moves back the offset
 * of another member.
 * `retry` reads every partition again from its committed offset. Dead letters go to their own topic.
 * Messages retention removed before they were stored are skipped and counted (`lost()`).
 * Resolves once the consumer joined the group.
 *
 * ```ts
 * const source = await createKafkaSource({ bootstrapBrokers: ["kafka:9092"], topic: "audit-events", groupId: "ingest" });
 * const ingester = createIngester({ source, store: await openPostgresStore({ connectionString }) });
 * ```
 */
export async function createKafkaSource(options: KafkaSourceOptions): Promise<KafkaSource> {
  const resolved = resolveSourceOptions(options);
  const { topic, groupId, deadLetterTopic } = resolved;
  const base = {
    clientId: resolved.clientId,
    bootstrapBrokers: [...resolved.bootstrapBrokers],
    ...(resolved.tls === undefined ? {} : { tls: resolved.tls }),
    ...(resolved.sasl === undefined ? {} : { sasl: resolved.sasl }),
    ...(resolved.timeoutMs === undefined
      ? {}
      : {
          connectTimeout: resolved.timeoutMs,
          requestTimeout: resolved.timeoutMs,
          timeout: resolved.timeoutMs,
        }),
  };
  const consumer = commitsInGeneration(
    guardConnections(
      (resolved.createConsumer ?? ((o) => new Consumer(o)))({
        ...base,
        groupId,
        autocommit: false,
        sessionTimeout: SESSION_TIMEOUT_MS,
      }),
    ),
  );
  // Passed as a copy each time: the client writes its defaults into the object it is given.
  const consume: ConsumeOptions<Buffer, Buffer, Buffer, Buffer> = {
    topics: [topic],
    // From the group's committed offsets; a partition without one from its first message.
    mode: "committed",
    fallbackMode: "earliest",
    autocommit: false,
    // The longest a Kafka fetch waits for data: also how long closing the stream may wait for it.
    maxWaitTime: MAX_FETCH_WAIT_MS,
  };
  const group = createGroupOffsets(consumer, topic, groupId);
  let open: OpenStream | undefined;
  try {
    open = await openWatched(consumer, { ...consume });
  } catch (error) {
    await consumer.close(true).catch(() => {});
    throw kafkaFailure(`joining group "${groupId}" on topic "${topic}"`, error);
  }
  let producer: KafkaProducer | undefined;
  const deadLetters = () => {
    producer ??= guardConnections(
      (resolved.createProducer ?? ((o) => new Producer(o)))({
        ...base,
        idempotent: true,
        acks: ProduceAcks.ALL,
        retries: 3,
        // The dead-letter topic appears on its first message when the cluster creates topics on demand.
        autocreateTopics: true,
      }),
    );
    return producer;
  };

  let closed = false;
  /** The stream being opened: a fetch stopped while it opens leaves it to the next fetch (or to close). */
  let opening: Promise<OpenStream> | undefined;
  const reopen = (): Promise<OpenStream> => {
    opening ??= openStream().finally(() => {
      opening = undefined;
    });
    return opening;
  };
  /** Opens a new stream before closing the old one: the topic stays subscribed, so no rebalance. */
  const openStream = async (): Promise<OpenStream> => {
    const old = open;
    open = undefined;
    group.reset();
    try {
      // Watched from the start (openWatched), also when closed right away: a close racing the join
      // makes its construction fail ("Client is closed").
      const watched = await openWatched(consumer, { ...consume });
      if (closed) {
        await watched.stream.close().catch(() => {});
        throw new Error("the source was closed while the stream opened");
      }
      open = watched;
      return open;
    } catch (error) {
      throw kafkaFailure(`reading topic "${topic}"`, error);
    } finally {
      await old?.stream.close().catch(() => {});
    }
  };
  /**
   * Closes the streams (`force`; each waits for its fetch in flight) and leaves the group, so that its
   * partitions go to the other members at once. Kafka not answering within LEAVE_TIMEOUT_MS, the
   * member disconnects without leaving (reported), which ends what still waits on Kafka: its
   * partitions move once its session times out, from the offsets it committed (what it had not
   * committed is read again).
   */
  const leave = async () => {
    open = undefined;
    const failure = await failureWithin(consumer.close(true), LEAVE_TIMEOUT_MS);
    if (failure === undefined) return;
    await consumer.connections?.close().catch(() => {});
    const why = kafkaFailure(`leaving group "${groupId}" on topic "${topic}"`, failure);
    report(
      resolved.onError,
      new Error(
        `${why.message}; its partitions go to the other members when its session times out ` +
          `(${SESSION_TIMEOUT_MS / 1000} s), from the offsets committed`,
        { cause: failure },
      ),
    );
  };
  let rewind = false;

  return {
    name: `kafka ${topic}/${groupId}`,
    async fetch(max, maxWaitMs, signal) {
      if (signal.aborted) return [];
      if (open?.error !== undefined || open?.ended === true) {
        const failed = open.error ?? new Error("the Kafka message stream ended");
        await open.stream.close().catch(() => {});
        open = undefined;
        // Read below a partition's log start: reading again from the same committed offset would fail
        // for ever (and with it every partition the same broker leads), so move past what was removed.
        // Else the next fetch opens a new stream, from the committed offsets.
        let skipped: boolean;
        try {
          skipped = outOfRange(failed) && (await group.skipRemoved());
        } catch (error) {
          throw error instanceof CommittedPastEndError
            ? error
            : kafkaFailure(`reading topic "${topic}"`, error);
        }
        if (!skipped) throw kafkaFailure(`reading topic "${topic}"`, failed);
      }
      if (group.hasUncommitted()) await group.commitLeft();
      // A rebalance came since the stream opened: the client's stream keeps what it read, of
      // partitions that may be another member's now, so a new one reads from the committed offsets.
      if (open !== undefined && open.generation !== consumer.generationId) rewind = true;
      const current = open === undefined || rewind ? await unlessAborted(reopen(), signal) : open;
      rewind = false;
      if (current === undefined) return [];
      const messages = await take(current, max, maxWaitMs, signal);
      group.refreshLag();
      return group.handOut(messages, current.generation);
    },
    ack: (messages) =>
      commitWithin(group.markDone(messages)).catch((error: unknown) => {
        throw kafkaFailure(`commit on topic "${topic}"`, error);
      }),
    async retry(messages) {
      group.handBack(messages);
      rewind = true;
    },
    async deadLetter(message, reason) {
      try {
        await deadLetters()
          .send({ messages: [deadLetter(deadLetterTopic, message, reason)] })
          .catch((error: unknown) => {
            // Larger than the dead-letter topic takes (its max.message.bytes can be below the source
            // topic's): sent without its key, headers and value, which stay in the source topic at
            // `from`; else it would be refused at every try and hold its partition for ever.
            if (!refusedAsTooLarge(error)) throw error;
            return deadLetters().send({ messages: [cutDeadLetter(deadLetterTopic, message, reason)] });
          });
      } catch (error) {
        group.handBack([message]);
        rewind = true; // it comes back, and is tried again
        // The client's own message says nothing ("Producing messages failed."): name Kafka's codes.
        throw new Error(`dead letter to "${deadLetterTopic}" failed: ${kafkaErrorText(error)}`, {
          cause: error,
        });
      }
      // Sent: counted as dead-lettered even if the commit fails (kept, and committed later).
      await commitWithin(group.markDone([message])).catch((error: unknown) => {
        throw new DeadLetterNotAckedError(
          `commit of a dead letter failed (topic "${topic}", partition ${message.message.partition}, ` +
            `offset ${message.message.offset}; sent to "${deadLetterTopic}", committed with the next ` +
            `commit): ${kafkaErrorText(error)}`,
          { cause: error },
        );
      });
    },
    lag: group.lag,
    lost: group.lost,
    async close() {
      closed = true;
      try {
        await Promise.all([leave(), producer?.close()]);
      } finally {
        releaseConnections(consumer);
        releaseConnections(producer);
      }
    },
  };
}

/** A failure of the Kafka client, naming what failed and why: its own message ("fetch failed 4 times.") says nothing. */
function kafkaFailure(what: string, error: unknown): Error {
  return new Error(`${what} failed: ${kafkaErrorText(error)}`, { cause: error });
}

/** Longest wait of one Kafka fetch request, in ms. */
const MAX_FETCH_WAIT_MS = 1000;

/**
 * How long the group waits for a member that stopped without leaving (killed, or cut off) before it
 * gives the member's partitions to the others, in ms. Below the client's request timeout (30000): an
 * ingester restarted at once joins within its JoinGroup request, which waits for that member.
 */
const SESSION_TIMEOUT_MS = 10_000;

/** How long closing waits for Kafka to confirm the member left its group, in ms. */
const LEAVE_TIMEOUT_MS = 3000;

/**
 * How long an ack (or a dead letter's) waits for Kafka to confirm its commit, in ms, as the NATS
 * source waits for its acks. The client's own bound is its request timeout (30 s): a coordinator that
 * took commits but never answered held a stopping ingester that long for each of its two batches.
 */
const COMMIT_TIMEOUT_MS = 5000;

/**
 * Resolves once `commit` did; rejects with its error, or once COMMIT_TIMEOUT_MS passed first. A
 * commit given up on may still be taken: if it fails later, it is made again with the next commit
 * (or, the source closed, its messages are read again from the offset committed before).
 */
async function commitWithin(commit: Promise<void>): Promise<void> {
  const failure = await failureWithin(commit, COMMIT_TIMEOUT_MS);
  if (failure !== undefined) throw failure;
}

/** Resolves to undefined once `promise` resolved; to its error once it rejected, or `ms` passed first. */
async function failureWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => undefined,
        (error: unknown) => error ?? new Error("failed"),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
