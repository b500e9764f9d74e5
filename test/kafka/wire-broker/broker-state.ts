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

/**
 * What the broker does with a produce request instead of serving it, to test a client under faults:
 * - "close-connection": closes the connection before answering, after appending the batches or not;
 * - "delay-answer": appends the batches at once and answers after `ms` (Infinity: never; the request
 *   holds the requests after it on its connection, as on Kafka);
 * - "error": appends nothing and answers every partition with `errorCode`.
 */
export type ProduceFault =
  | { readonly kind: "close-connection"; readonly append: boolean }
  | { readonly kind: "delay-answer"; readonly ms: number }
  | { readonly kind: "error"; readonly errorCode: number };

/** The broker's state; requests read and change it, tests too. */
export class BrokerState {
  readonly topics = new Map<string, Topic>();
  readonly coordinator = new GroupCoordinator();
  /** Aborted when the broker closes or stops: fetches waiting for data and delayed answers end at once. */
  closing = new AbortController();
  host = "127.0.0.1";
  port = 0;
  /** Whether a Metadata request that allows it creates a topic (auto.create.topics.enable). */
  autoCreateTopics = true;
  /** Fetches of a partition answered OFFSET_OUT_OF_RANGE (below the log start or past the end). */
  fetchesOutOfRange = 0;
  /** SASL/PLAIN users and their passwords (SaslAuthenticate checks them). Default: none. */
  readonly saslUsers = new Map<string, string>();
  /** Produce requests received so far, faulty ones included. */
  produceRequests = 0;
  /**
   * Picks the fault of each produce request, by its number (1 for the first); undefined serves it.
   * Default: none.
   */
  produceFault: ((request: number) => ProduceFault | undefined) | undefined;
  /**
   * Called with each request's API name ("SyncGroup") once it is served: its answer waits for the
   * promise returned (or for the broker to stop); undefined answers at once. Default: none.
   */
  holdAnswer: ((api: string) => Promise<void> | undefined) | undefined;
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
