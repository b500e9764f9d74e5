import {
  type ConsumeOptions,
  Consumer,
  ListOffsetTimestamps,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";
import { report } from "../errors/report.js";
import {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
import { DeadLetterNotAckedError } from "../ingest/ingester.js";
import type { IngestSource, SourceMessage } from "../ingest/source.js";
import { unlessAborted } from "../ingest/unless-aborted.js";
import { guardConnections, releaseConnections } from "./guard-connections.js";
import type { KafkaProducer } from "./kafka-broker-options.js";
import { kafkaErrorText } from "./kafka-error-text.js";
import { type KafkaSourceOptions, resolveSourceOptions } from "./kafka-source-options.js";
import { type KafkaMessage, type OpenStream, take, watchStream } from "./message-stream.js";
import { PartitionOffsets } from "./partition-offsets.js";
import { outOfRange, RetentionLoss } from "./retention-loss.js";
import { refusedAsTooLarge } from "./too-large.js";

/** A message of the Kafka source. */
export interface KafkaSourceMessage extends SourceMessage {
  /** The Kafka message. */
  readonly message: KafkaMessage;
}

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

/** Where a handed-out message is tracked: its partition and that partition's epoch. */
interface Tracked {
  readonly partition: string;
  readonly epoch: number;
}

/**
 * Opens the source ingesters pull audit events from: a member of the Kafka consumer group `groupId`
 * reading `topic`. Every ingester with the same group id shares the topic's partitions (Kafka assigns
 * each partition to one member, and moves it when a member joins, leaves or dies). Offsets are
 * committed only for stored messages, per partition the offset below which every message is stored;
 * a member starting on a partition reads from its committed offset (from the earliest without one).
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
  const consumer = guardConnections(
    (resolved.createConsumer ?? ((o) => new Consumer(o)))({
      ...base,
      groupId,
      autocommit: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
    }),
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
  const offsets = new PartitionOffsets<KafkaMessage>();
  const tracked = new WeakMap<KafkaSourceMessage, Tracked>();
  const loss = new RetentionLoss();
  let open: OpenStream | undefined;
  try {
    open = watchStream(await consumer.consume({ ...consume }));
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
    offsets.reset();
    try {
      // Watched at once, also when it is closed right away: the client constructs the stream on a
      // later tick, which fails ("Client is closed") once the source has left the group, and a stream
      // error without a listener would be an uncaught exception.
      const watched = watchStream(await consumer.consume({ ...consume }));
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
  /**
   * Per partition, the last done message whose commit failed: committed with the next commit there,
   * or by `commitLeft` at the next fetch. PartitionOffsets forgot it, and a message done is not read
   * again while the stream runs: without this its offset would wait for a later message's commit.
   */
  const uncommitted = new Map<string, KafkaMessage>();
  /** The group generation `uncommitted` was filled in: after a rebalance it may be behind another member's. */
  let uncommittedGeneration: number | undefined;
  /** Commits `m` (its offset + 1); keeps it in `uncommitted` when the commit fails, and rejects. */
  const commit = async (partition: string, m: KafkaMessage) => {
    const generation = consumer.generationId;
    try {
      await m.commit();
    } catch (error) {
      if (uncommittedGeneration !== generation) uncommitted.clear();
      uncommittedGeneration = generation;
      const left = uncommitted.get(partition);
      if (left === undefined || left.offset < m.offset) uncommitted.set(partition, m);
      throw error;
    }
    if ((uncommitted.get(partition)?.offset ?? -1n) <= m.offset) uncommitted.delete(partition);
    loss.committed(m.partition, m.offset + 1n);
  };
  /** A copy of `uncommitted`, emptied first if a rebalance came since (the partition's offset may have moved on). */
  const leftToCommit = () => {
    if (uncommittedGeneration !== consumer.generationId) uncommitted.clear();
    return new Map(uncommitted);
  };
  /** Commits, per partition, the end of the run of done messages the given ones completed. */
  const markDone = async (messages: readonly KafkaSourceMessage[]) => {
    const commits = leftToCommit();
    for (const m of messages) {
      const where = tracked.get(m);
      if (where === undefined) continue;
      loss.stored(m.message.partition, m.message.offset);
      const committable = offsets.done(where.partition, where.epoch, m.message.offset);
      const left = commits.get(where.partition);
      if (committable !== undefined && (left === undefined || left.offset < committable.offset))
        commits.set(where.partition, committable);
    }
    await commitAssigned(commits);
  };
  // commit() commits its offset + 1 for its partition, with the leader epoch it was read under. A
  // partition the group gave to another member meanwhile is left to it: committing there could
  // move its offset back (messages the other member stored would come again, as duplicates).
  const commitAssigned = async (commits: ReadonlyMap<string, KafkaMessage>) => {
    const assigned = assignedPartitions();
    await Promise.all(
      [...commits]
        .filter(([, m]) => assigned.includes(m.partition))
        .map(([partition, m]) => commit(partition, m)),
    );
  };
  /** Commits what failed to commit before; a failure again was reported then, so it is not again. */
  const commitLeft = () => commitAssigned(leftToCommit()).catch(() => {});
  const assignedPartitions = () => [
    ...(consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? []),
  ];
  const handBack = (messages: readonly KafkaSourceMessage[]) => {
    for (const m of messages) if (tracked.has(m)) loss.handedBack(m.message.partition, m.message.offset);
  };

  /**
   * After a read failed as out of range: commits the log start of each assigned partition whose
   * committed offset is below it (retention removed the messages in between) and counts them. Resolves
   * to whether a partition was moved on; rejects when Kafka cannot be asked. Resolving to false makes
   * the failure reported: a partition without a committed offset (the next stream starts it at its log
   * start) is not read past in silence. Rejects with `pastEnd` when a committed offset is past its
   * partition's end (the topic was deleted and created again): left alone, for an operator to reset.
   */
  const skipRemoved = async (): Promise<boolean> => {
    const partitions = assignedPartitions();
    if (partitions.length === 0) return false;
    const generation = consumer.generationId;
    const [starts, ends, commits] = await Promise.all([
      consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
      consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }),
      consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }),
    ]);
    const moves: { partition: number; from: bigint; start: bigint }[] = [];
    const beyond: { partition: number; committed: bigint; end: bigint }[] = [];
    for (const partition of partitions) {
      const from = commits.get(topic)?.[partition] ?? -1n;
      const start = starts.get(topic)?.[partition];
      const end = ends.get(topic)?.[partition];
      if (start !== undefined && from >= 0n && from < start) moves.push({ partition, from, start });
      if (end !== undefined && from > end) beyond.push({ partition, committed: from, end });
    }
    if (beyond.length > 0) {
      // What reading would show: messages behind by a negative number, not none.
      lag = beyond.reduce((sum, b) => sum + Number(b.end - b.committed), 0);
      throw pastEnd(topic, groupId, beyond);
    }
    if (moves.length === 0) return false;
    await consumer.commit({
      offsets: moves.map((m) => ({ topic, partition: m.partition, offset: m.start, leaderEpoch: -1 })),
    });
    // Counted only if no rebalance came between: the member a partition went to may have read the
    // same committed offset and count it too. Counting after the commit: a failed one counts nothing.
    if (consumer.generationId === generation)
      for (const m of moves) loss.removed(m.partition, m.from, m.start);
    return true;
  };

  let lag: number | undefined;
  let lagInFlight = false;
  const refreshLag = () => {
    if (lagInFlight) return;
    lagInFlight = true;
    consumer
      .getLag({ topics: [topic] })
      .then((lags) => {
        // Over the assigned partitions, negative ones too: a committed offset past the end (the topic
        // was created again) shows as a lag below 0. The client gives -1 for a partition not assigned,
        // and for one whose stream just ended: the last lag stays then (`skipRemoved` set it).
        const assigned = assignedPartitions();
        const mine = (lags.get(topic) ?? []).filter((_, p) => assigned.includes(p));
        if (!mine.includes(-1n)) lag = mine.reduce((sum, l) => sum + Number(l), 0);
      })
      // No lag this time (a broker unreachable): the last one stays, the next fetch asks again.
      .catch(() => {})
      .finally(() => {
        lagInFlight = false;
      });
  };

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
          skipped = outOfRange(failed) && (await skipRemoved());
        } catch (error) {
          throw error instanceof CommittedPastEndError
            ? error
            : kafkaFailure(`reading topic "${topic}"`, error);
        }
        if (!skipped) throw kafkaFailure(`reading topic "${topic}"`, failed);
      }
      if (uncommitted.size > 0) await commitLeft();
      const current = open === undefined || rewind ? await unlessAborted(reopen(), signal) : open;
      rewind = false;
      if (current === undefined) return [];
      const messages = await take(current, max, maxWaitMs, signal);
      refreshLag();
      return messages.map((message) => {
        const partition = `${message.topic}:${message.partition}`;
        const handed = sourceMessage(message);
        tracked.set(handed, { partition, epoch: offsets.handOut(partition, message.offset, message) });
        loss.handedOut(message.partition, message.offset);
        return handed;
      });
    },
    ack: (messages) =>
      markDone(messages).catch((error: unknown) => {
        throw kafkaFailure(`commit on topic "${topic}"`, error);
      }),
    async retry(messages) {
      handBack(messages);
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
        handBack([message]);
        rewind = true; // it comes back, and is tried again
        // The client's own message says nothing ("Producing messages failed."): name Kafka's codes.
        throw new Error(`dead letter to "${deadLetterTopic}" failed: ${kafkaErrorText(error)}`, {
          cause: error,
        });
      }
      // Sent: counted as dead-lettered even if the commit fails (kept, and committed later).
      await markDone([message]).catch((error: unknown) => {
        throw new DeadLetterNotAckedError(
          `commit of a dead letter failed (topic "${topic}", partition ${message.message.partition}, ` +
            `offset ${message.message.offset}; sent to "${deadLetterTopic}", committed with the next ` +
            `commit): ${kafkaErrorText(error)}`,
          { cause: error },
        );
      });
    },
    lag: () => lag,
    lost: () => loss.lost,
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

const EMPTY = new Uint8Array(0);

/** A failure of the Kafka client, naming what failed and why: its own message ("fetch failed 4 times.") says nothing. */
function kafkaFailure(what: string, error: unknown): Error {
  return new Error(`${what} failed: ${kafkaErrorText(error)}`, { cause: error });
}

/** The group's committed offset on a partition is past the partition's end. */
class CommittedPastEndError extends Error {}

/**
 * The error for partitions whose committed offset is past their end: Kafka answers every read there
 * OFFSET_OUT_OF_RANGE, and reading from the end would skip what the group never read, so an operator
 * decides where the group starts again.
 */
function pastEnd(
  topic: string,
  groupId: string,
  beyond: readonly { partition: number; committed: bigint; end: bigint }[],
): CommittedPastEndError {
  const where = beyond
    .map((b) => `partition ${b.partition}: committed ${b.committed}, end ${b.end}`)
    .join("; ");
  return new CommittedPastEndError(
    `group "${groupId}" has committed offsets past the end of topic "${topic}" (${where}): was the ` +
      "topic deleted and created again? Reset the group's offsets, e.g. kafka-consumer-groups " +
      `--bootstrap-server <broker> --group ${groupId} --topic ${topic} --reset-offsets --to-earliest --execute ` +
      "(with every ingester of the group stopped)",
  );
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

function sourceMessage(message: KafkaMessage): KafkaSourceMessage {
  return {
    message,
    // A record with a null value (a tombstone) comes without one: poison, like any other non-event.
    data: message.value ?? EMPTY,
    where: `${message.topic}/${message.partition}@${message.offset}`,
    header: (name) => {
      // A header may have a null value (the client gives undefined): as if absent.
      for (const [key, value] of message.headers)
        if (key.toString("utf8") === name && value != null) return value.toString("utf8");
      return undefined;
    },
  };
}

/** The message as it was (key, value, headers), with why and where from. */
/** A dead letter with only its reason, origin and the original value's size (`DEAD_LETTER_TRUNCATED_HEADER`). */
function cutDeadLetter(topic: string, message: KafkaSourceMessage, reason: string) {
  const headers = new Map<Buffer, Buffer>([
    [Buffer.from(DEAD_LETTER_REASON_HEADER), Buffer.from(reason.replace(/[\r\n]+/g, " "))],
    [Buffer.from(DEAD_LETTER_FROM_HEADER), Buffer.from(message.where)],
    [Buffer.from(DEAD_LETTER_TRUNCATED_HEADER), Buffer.from(String(message.message.value?.length ?? 0))],
  ]);
  return { topic, value: Buffer.alloc(0), headers };
}

function deadLetter(topic: string, message: KafkaSourceMessage, reason: string) {
  // Header keys are Buffers (a Map compares them by identity): drop the message's own dead-letter
  // headers by name, so this dead letter's reason and origin are the only ones.
  const ours = new Set([DEAD_LETTER_REASON_HEADER, DEAD_LETTER_FROM_HEADER]);
  const headers = new Map([...message.message.headers].filter(([key]) => !ours.has(key.toString("utf8"))));
  headers.set(Buffer.from(DEAD_LETTER_REASON_HEADER), Buffer.from(reason.replace(/[\r\n]+/g, " ")));
  headers.set(Buffer.from(DEAD_LETTER_FROM_HEADER), Buffer.from(message.where));
  return { topic, key: message.message.key, value: message.message.value, headers };
}
