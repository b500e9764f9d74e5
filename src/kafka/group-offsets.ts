// The Kafka source's offsets: what it handed out, what it commits to its group, what retention removed, the lag.
import { ListOffsetTimestamps } from "@platformatic/kafka";
import { type KafkaSourceMessage, sourceMessage } from "./kafka-source-message.js";
import type { KafkaConsumer, KafkaMessage } from "./message-stream.js";
import { PartitionOffsets } from "./partition-offsets.js";
import { RetentionLoss } from "./retention-loss.js";

/** Where a handed-out message is tracked: its partition and that partition's epoch. */
interface Tracked {
  readonly partition: string;
  readonly epoch: number;
}

/**
 * The offsets of a Kafka source's consumer group on its topic, as the source sees them: the messages
 * it handed out, the commits of those stored, the partitions moved past what retention removed, the lag.
 * @internal
 */
export interface GroupOffsets {
  /** Tracks a message read from the stream; returns it as the source hands it out. */
  handOut(message: KafkaMessage): KafkaSourceMessage;
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
    handOut: (message) => {
      const partition = `${message.topic}:${message.partition}`;
      const handed = sourceMessage(message);
      tracked.set(handed, { partition, epoch: offsets.handOut(partition, message.offset, message) });
      loss.handedOut(message.partition, message.offset);
      return handed;
    },
    handBack,
    markDone,
    hasUncommitted: () => uncommitted.size > 0,
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
