// The Kafka source's offsets: what it handed out, what it commits to its group, what retention removed, the lag.
import { ListOffsetTimestamps } from "@platformatic/kafka";
import { type KafkaSourceMessage, sourceMessage } from "./kafka-source-message.js";
import { commitInGeneration, type KafkaConsumer, type KafkaMessage } from "./message-stream.js";
import { PartitionOffsets } from "./partition-offsets.js";
import { RetentionLoss } from "./retention-loss.js";

/** Where a handed-out message is tracked: its partition, that partition's epoch, the group generation. */
interface Tracked {
  readonly partition: string;
  readonly epoch: number;
  readonly generation: number;
}

/**
 * What the source knows of its commits in one group generation (the partitions assigned change only
 * with it): per partition, the last done message whose commit failed, and the highest offset committed.
 */
interface GenerationCommits {
  readonly generation: number;
  /**
   * The last done message whose commit failed: committed with the next commit there, or by
   * `commitLeft` at the next fetch. PartitionOffsets forgot it, and a message done is not read again
   * while the stream runs: without this its offset would wait for a later message's commit.
   */
  readonly uncommitted: Map<string, KafkaMessage>;
  /** The offset of the last message committed: a commit below it would move the group's offset back. */
  readonly committed: Map<string, bigint>;
}

/**
 * The offsets of a Kafka source's consumer group on its topic, as the source sees them: the messages
 * it handed out, the commits of those stored, the partitions moved past what retention removed, the lag.
 * @internal
 */
export interface GroupOffsets {
  /**
   * Tracks the messages a stream opened in group generation `generation` read; returns those the
   * source hands out: none when a rebalance came since (the stream may hold messages of partitions
   * now another member's, read from an offset that member moved on), and none of a partition not
   * assigned now. Those left out are not committed: the partition's member reads them from its
   * committed offset.
   */
  handOut(messages: readonly KafkaMessage[], generation: number): KafkaSourceMessage[];
  /** Messages handed out that come back unstored (their insert or dead letter failed). */
  handBack(messages: readonly KafkaSourceMessage[]): void;
  /** Commits, per partition, the end of the run of done messages the given ones completed. */
  markDone(messages: readonly KafkaSourceMessage[]): Promise<void>;
  /** Whether a commit failed and is left to `commitLeft`. */
  hasUncommitted(): boolean;
  /** Commits what failed to commit before; never rejects. */
  commitLeft(): Promise<void>;
  /**
   * After a read failed as out of range: commits the log start of the partitions retention read past.
   * Resolves to whether one was moved on; rejects with CommittedPastEndError for a committed offset past
   * its partition's end.
   */
  skipRemoved(): Promise<boolean>;
  /** Asks Kafka for the lag, unless a request is in flight. */
  refreshLag(): void;
  /** The last lag known: messages behind, over the assigned partitions. */
  lag(): number | undefined;
  /** Messages retention removed before they were stored (`KafkaSource.lost`). */
  lost(): number;
  /** Forgets the messages handed out: a new stream reads them again from the committed offsets. */
  reset(): void;
}

/** The offsets of `consumer`'s group `groupId` on `topic`. @internal */
export function createGroupOffsets(consumer: KafkaConsumer, topic: string, groupId: string): GroupOffsets {
  const offsets = new PartitionOffsets<KafkaMessage>();
  const tracked = new WeakMap<KafkaSourceMessage, Tracked>();
  const loss = new RetentionLoss();
  let ofGeneration: GenerationCommits = { generation: -1, uncommitted: new Map(), committed: new Map() };
  /**
   * The commits of the current generation: after a rebalance, those of before are forgotten (a
   * partition may have been another member's meanwhile, which moved its offset on).
   */
  const ofNow = (): GenerationCommits => {
    const generation = consumer.generationId;
    if (ofGeneration.generation !== generation)
      ofGeneration = { generation, uncommitted: new Map(), committed: new Map() };
    return ofGeneration;
  };
  /**
   * Commits `m` (its offset + 1); keeps it to commit again when the commit fails, and rejects. What
   * answers after a rebalance is of a generation gone: neither kept nor recorded.
   */
  const commit = async (partition: string, m: KafkaMessage) => {
    const generation = consumer.generationId;
    try {
      await commitInGeneration(consumer, m);
    } catch (error) {
      const now = ofNow();
      // A commit answered late (`ack` gave up waiting for it) may fail after a later one succeeded.
      if (now.generation === generation && (now.committed.get(partition) ?? -1n) < m.offset) {
        const left = now.uncommitted.get(partition);
        if (left === undefined || left.offset < m.offset) now.uncommitted.set(partition, m);
      }
      throw error;
    }
    const now = ofNow();
    if (now.generation === generation) {
      if ((now.committed.get(partition) ?? -1n) < m.offset) now.committed.set(partition, m.offset);
      if ((now.uncommitted.get(partition)?.offset ?? -1n) <= m.offset) now.uncommitted.delete(partition);
    }
    loss.committed(m.partition, m.offset + 1n);
  };
  /** A copy of what failed to commit in this generation. */
  const leftToCommit = () => new Map(ofNow().uncommitted);
  /** Commits, per partition, the end of the run of done messages the given ones completed. */
  const markDone = async (messages: readonly KafkaSourceMessage[]) => {
    const commits = leftToCommit();
    for (const m of messages) {
      const where = tracked.get(m);
      if (where === undefined) continue;
      loss.stored(m.message.partition, m.message.offset);
      // Handed out two or more rebalances ago: the partition may have been another member's since.
      // One rebalance ago, it was this member's all along if it is assigned now (checked when
      // committed, and again as the commit goes out).
      const generation = consumer.generationId;
      if (where.generation !== generation && where.generation + 1 !== generation) continue;
      const committable = offsets.done(where.partition, where.epoch, m.message.offset);
      const left = commits.get(where.partition);
      if (committable !== undefined && (left === undefined || left.offset < committable.offset))
        commits.set(where.partition, committable);
    }
    await commitAssigned(commits);
  };
  // commit() commits its offset + 1 for its partition, with the leader epoch it was read under. A
  // partition the group gave to another member meanwhile is left to it: committing there could
  // move its offset back (messages the other member stored would come again, as duplicates). Nor is
  // an offset committed below one committed before (a late answer to an earlier commit). This runs
  // once per commit; the client's own retries of a commit are checked at each attempt, where it
  // reads the offsets (commitsInGeneration).
  const commitAssigned = async (toCommit: ReadonlyMap<string, KafkaMessage>) => {
    const assigned = assignedPartitions();
    const { committed } = ofNow();
    await Promise.all(
      [...toCommit]
        .filter(
          ([partition, m]) => assigned.includes(m.partition) && (committed.get(partition) ?? -1n) < m.offset,
        )
        .map(([partition, m]) => commit(partition, m)),
    );
  };
  /** Commits what failed to commit before; a failure again was reported then, so it is not again. */
  const commitLeft = () => commitAssigned(leftToCommit()).catch(() => {});
  /** The generation and assignments last seen together. */
  let seen: { generation: number; assignments: unknown } | undefined;
  /**
   * Whether the consumer's assignments are those of its generation: the client takes the new
   * generation from the group's JoinGroup answer, and the partitions only from the SyncGroup answer
   * after it (a new array), so in between the generation is new and the partitions still the old ones.
   */
  const settled = () => {
    const { generationId: generation, assignments } = consumer;
    if (seen?.generation === generation) return true;
    if (seen !== undefined && assignments !== null && seen.assignments === assignments) return false;
    seen = { generation, assignments };
    return true;
  };
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
    handOut: (messages, generation) => {
      // The client's stream keeps what it read across a rebalance, and reads on: left out, as read
      // under another assignment, from offsets another member may have committed past.
      if (generation !== consumer.generationId || !settled()) return [];
      const assigned = assignedPartitions();
      const handed: KafkaSourceMessage[] = [];
      for (const message of messages) {
        if (!assigned.includes(message.partition)) continue;
        const partition = `${message.topic}:${message.partition}`;
        const m = sourceMessage(message);
        tracked.set(m, { partition, epoch: offsets.handOut(partition, message.offset, message), generation });
        loss.handedOut(message.partition, message.offset);
        handed.push(m);
      }
      return handed;
    },
    handBack,
    markDone,
    hasUncommitted: () => ofNow().uncommitted.size > 0,
    commitLeft,
    skipRemoved,
    refreshLag,
    lag: () => lag,
    lost: () => loss.lost,
    reset: () => offsets.reset(),
  };
}

/** The group's committed offset on a partition is past the partition's end. @internal */
export class CommittedPastEndError extends Error {}

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
