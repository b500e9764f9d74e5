/**
 * Everything the stand-in broker knows, as plain objects a test can read and change: topics with
 * their partition logs, consumer groups with their committed offsets, and the broker's address.
 */
import { GroupCoordinator } from "./group-coordinator.js";
import { PartitionLog, type Topic } from "./partition-log.js";

/** The broker's node id: one broker leads every partition and coordinates every group. */
export const NODE_ID = 1;

/** How a topic is made. */
export interface TopicOptions {
  /** Default: 1. */
  partitions?: number;
  /** Largest record batch it takes, in bytes. Default: 1048588 (Kafka's message.max.bytes). */
  maxMessageBytes?: number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** The broker's state; requests read and change it, tests too. */
export class BrokerState {
  readonly topics = new Map<string, Topic>();
  readonly coordinator = new GroupCoordinator();
  /** Aborted when the broker closes: fetches waiting for data answer at once. */
  readonly closing = new AbortController();
  host = "127.0.0.1";
  port = 0;
  /** Whether a Metadata request that allows it creates a topic (auto.create.topics.enable). */
  autoCreateTopics = true;
  /** Fetches of a partition answered OFFSET_OUT_OF_RANGE (below the log start or past the end). */
  fetchesOutOfRange = 0;
  private lastProducerId = 1000n;

  createTopic(name: string, options: TopicOptions = {}): Topic {
    const existing = this.topics.get(name);
    if (existing !== undefined) return existing;
    const count = options.partitions ?? 1;
    const topic: Topic = {
      name,
      partitions: Array.from({ length: count }, (_, i) => new PartitionLog(name, i)),
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    };
    this.topics.set(name, topic);
    return topic;
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  nextProducerId(): bigint {
    this.lastProducerId++;
    return this.lastProducerId;
  }
}
