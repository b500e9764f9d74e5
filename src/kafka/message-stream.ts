import type {
  CommitOptions,
  ConsumeOptions,
  GetLagOptions,
  ListCommitsOptions,
  ListOffsetsOptions,
  Message,
  Offsets,
} from "@platformatic/kafka";

/** The part of `@platformatic/kafka`'s Consumer the Kafka source uses; tests inject a fake of it. */
export interface KafkaConsumer {
  /**
   * Joins the group (when not a member yet) and opens a stream of the topics' assigned partitions:
   * calls back with the stream as it is made, before its construction (which lists offsets) runs on
   * a later tick, so that the source listens to the stream's errors from the start.
   */
  consume(
    options: ConsumeOptions<Buffer, Buffer, Buffer, Buffer>,
    callback: (error: Error | null, stream?: KafkaMessageStream) => void,
  ): void;
  /** Per topic and partition: high watermark − committed offset, or -1 for a partition not assigned. */
  getLag(options: GetLagOptions): Promise<Offsets>;
  /** Per topic and partition: the log start offset (timestamp EARLIEST) or the end (LATEST). */
  listOffsets(options: ListOffsetsOptions): Promise<Offsets>;
  /** Per topic and partition: the group's committed offset, -1 where it has none. */
  listCommittedOffsets(options: ListCommitsOptions): Promise<Offsets>;
  /** Commits offsets for the group (the next message to read, per partition). */
  commit(options: CommitOptions): Promise<void>;
  /** Leaves the group and disconnects; with `force`, closes its streams first. */
  close(force?: boolean): Promise<void>;
  /** The connections to the brokers: closing them disconnects without leaving the group. Optional for a fake. */
  readonly connections?: { close(): Promise<void> };
  /** The partitions the group assigned to this member, per topic; null before it joined. */
  readonly assignments: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null;
  /** The group generation this member joined last: it changes with every rebalance. */
  readonly generationId: number;
}

/** The consumers whose `commit` is being called from `commitInGeneration`. */
const committing = new WeakSet<KafkaConsumer>();

/** One partition's offset in a commit. */
type CommitOffset = CommitOptions["offsets"][number];

/** A commit made through `commitsInGeneration`: `done` settles as the promise it returned. */
interface Sending {
  done: Promise<void>;
}

/**
 * What a consumer's commits sent in its current group generation, per partition ("topic:partition"):
 * the highest offset sent and the commit that sent it last, and the highest offset Kafka confirmed.
 * The client sends a commit again on a retriable error (NOT_COORDINATOR: 3 retries, 1 s apart), and
 * reads its offsets anew for each attempt; the source, meanwhile, commits later offsets of the same
 * partition. Kafka stores what each request holds, in the order it takes them, so an older
 * commit's attempt sent after a newer one would move the group's offset back: such an offset is
 * left out of the attempt. A generation's partitions are this member's only, and every offset the
 * source commits is that of a message stored, so one below an offset sent is never needed.
 */
class CommitFloors {
  private generation = Number.NaN;
  private readonly sent = new Map<string, { readonly offset: bigint; readonly by: Sending }>();
  private readonly confirmed = new Map<string, bigint>();

  /**
   * The offsets of `offsets` commit `by` may send now in `generation`, recorded as sent. Left out:
   * one at or below an offset confirmed, and one below an offset another commit sent (its commit
   * then goes into `waits`: whether this offset is committed is told by that one). An offset equal to
   * one sent goes again: it moves nothing back, and the commit that sent it may have failed.
   */
  pass(
    generation: number,
    offsets: readonly CommitOffset[],
    by: Sending,
    waits: Set<Promise<void>>,
  ): CommitOffset[] {
    this.enter(generation);
    return offsets.filter((o) => {
      const key = `${o.topic}:${o.partition}`;
      if (o.offset <= (this.confirmed.get(key) ?? -1n)) return false;
      const sent = this.sent.get(key);
      if (sent !== undefined && sent.by !== by && o.offset < sent.offset) {
        waits.add(sent.by.done);
        return false;
      }
      this.sent.set(key, { offset: o.offset, by });
      return true;
    });
  }

  /** Records `offsets`, the last attempt of a commit read in `generation`, as stored by Kafka. */
  confirm(generation: number, offsets: readonly CommitOffset[]): void {
    if (generation !== this.generation) return;
    for (const o of offsets) {
      const key = `${o.topic}:${o.partition}`;
      if (o.offset > (this.confirmed.get(key) ?? -1n)) this.confirmed.set(key, o.offset);
    }
  }

  /** A new generation forgets the last: a partition may have been another member's meanwhile. */
  private enter(generation: number): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.sent.clear();
    this.confirmed.clear();
  }
}

/**
 * Makes the commits `commitInGeneration` makes through `consumer` commit only what is still its own
 * when the request goes out: the offsets of partitions assigned then, in the generation the commit
 * was made in. The client sends a commit the coordinator refused for a rebalance again once it joined
 * the group anew, in the new generation: unchecked, such a commit could move back the offset of a
 * partition given to another member meanwhile. The offsets are read at each send, so one sent again
 * after a rebalance holds only what it may (possibly nothing).
 *
 * No attempt of any commit through `consumer` holds, for a partition, an offset below one another
 * commit sent before it or Kafka confirmed (see CommitFloors): a retried commit never moves the
 * group's offset back. A commit whose offset was left out for a higher one sent resolves (or rejects)
 * once that one's commit did. This relies on the client reading the offsets just before it writes the
 * request on the coordinator's one connection, which keeps the order requests are written in.
 * Returns `consumer`.
 * @internal
 */
export function commitsInGeneration<C extends KafkaConsumer>(consumer: C): C {
  const commit = consumer.commit.bind(consumer) as (options: CommitOptions) => Promise<void>;
  const floors = new CommitFloors();
  // The client's messages commit with a callback, the source with the promise: both are served.
  const inGeneration = (options: CommitOptions, callback?: unknown) => {
    const bound = committing.has(consumer);
    const generation = consumer.generationId;
    const offsets = options.offsets;
    // `done` is replaced below before anything reads it: the client reads the offsets (its option
    // check) within commit(), and only another commit, later, waits for this one.
    const sending: Sending = { done: Promise.resolve() };
    const waits = new Set<Promise<void>>();
    let read: { generation: number; offsets: readonly CommitOffset[] } | undefined;
    const own = () => {
      const now = consumer.generationId;
      if (bound && now !== generation) {
        read = undefined;
        return [];
      }
      const mine = bound
        ? offsets.filter((o) =>
            consumer.assignments?.some((a) => a.topic === o.topic && a.partitions.includes(o.partition)),
          )
        : offsets;
      const passed = floors.pass(now, mine, sending, waits);
      read = { generation: now, offsets: passed };
      return passed;
    };
    sending.done = commit({
      ...options,
      get offsets() {
        return own();
      },
    }).then(async () => {
      if (read !== undefined) floors.confirm(read.generation, read.offsets);
      await Promise.all(waits);
    });
    if (typeof callback !== "function") return sending.done;
    sending.done.then(
      () => callback(null),
      (error: unknown) => callback(error),
    );
    return undefined;
  };
  Object.defineProperty(consumer, "commit", { value: inGeneration, configurable: true, writable: true });
  return consumer;
}

/**
 * Commits a message (its offset + 1) of `consumer`'s stream, bound to the generation it is made in
 * (see `commitsInGeneration`): the message's commit calls the consumer's at once.
 * @internal
 */
export async function commitInGeneration(consumer: KafkaConsumer, message: KafkaMessage): Promise<void> {
  let committed: unknown;
  committing.add(consumer);
  try {
    committed = message.commit();
  } finally {
    committing.delete(consumer);
  }
  await committed;
}

/** The part of a `@platformatic/kafka` Message the Kafka source reads; tests build fakes of it. */
export type KafkaMessage = Pick<
  Message<Buffer, Buffer, Buffer, Buffer>,
  "key" | "value" | "headers" | "topic" | "partition" | "offset" | "commit"
>;

/** Events of a message stream the source listens to. */
export type KafkaStreamEvent = "readable" | "error" | "close" | "end";

/**
 * The part of `@platformatic/kafka`'s MessagesStream (a Node.js object-mode Readable) the Kafka source
 * uses; tests inject a fake of it.
 */
export interface KafkaMessageStream {
  /** The next buffered message, or null when none is buffered. */
  read(): KafkaMessage | null;
  /**
   * Adds a listener, as a Node.js Readable does: "readable" when messages are buffered, "error" with
   * the stream's error, "end" and "close" when it stops. The return value is ignored.
   */
  on(event: KafkaStreamEvent, listener: (error?: Error) => void): unknown;
  /** Stops fetching; messages buffered and not read are dropped (never committed, so read again later). */
  close(): Promise<void>;
}

/** A stream being read, and what it reported. @internal */
export interface OpenStream {
  readonly stream: KafkaMessageStream;
  /**
   * The group generation the consumer was in when the stream was made: the stream reads the
   * partitions assigned then, from the offsets committed then, and keeps what it read when the
   * group rebalances.
   */
  readonly generation: number;
  /** Set once the stream failed: the client destroyed it. */
  error: Error | undefined;
  /** Set once the stream ended or closed. */
  ended: boolean;
  /** Called when the stream has something to say; set by a waiting `take`. */
  wake: () => void;
}

/**
 * Watches a stream for as long as it lives. The 'readable' listener stays on: the client's stream
 * fetches only while someone listens, and it must keep fetching ahead between batches.
 * @internal
 */
export function watchStream(stream: KafkaMessageStream, generation = 0): OpenStream {
  const open: OpenStream = { stream, generation, error: undefined, ended: false, wake: () => {} };
  stream.on("readable", () => open.wake());
  stream.on("error", (error) => {
    open.error = error ?? new Error("the Kafka message stream failed");
    open.wake();
  });
  const end = () => {
    open.ended = true;
    open.wake();
  };
  stream.on("end", end);
  stream.on("close", end);
  return open;
}

/**
 * Opens a stream of the consumer and watches it from the moment the client makes it. Its construction
 * runs on the next tick and fails at once on a client closed meanwhile (a close racing the join the
 * stream waited for): a listener attached after an `await` of the promise form would come too late,
 * and a stream error without a listener is an uncaught exception.
 * @internal
 */
export function openWatched(
  consumer: KafkaConsumer,
  options: ConsumeOptions<Buffer, Buffer, Buffer, Buffer>,
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    consumer.consume(options, (error, stream) => {
      if (error !== null || stream === undefined)
        reject(error ?? new Error("the Kafka client gave no stream"));
      // Read before the stream's construction (a later tick) lists the offsets it starts from.
      else resolve(watchStream(stream, consumer.generationId));
    });
  });
}

/**
 * Reads up to `max` messages from the stream: those buffered, then those arriving within `maxWaitMs`
 * or until `signal` aborts or the stream fails or ends (then with those read so far).
 * @internal
 */
export async function take(
  open: OpenStream,
  max: number,
  maxWaitMs: number,
  signal: AbortSignal,
): Promise<KafkaMessage[]> {
  const taken: KafkaMessage[] = [];
  // A monotonic clock: a wall clock stepped back would stretch the wait.
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    while (taken.length < max) {
      const message = open.stream.read();
      if (message === null) break;
      taken.push(message);
    }
    const left = deadline - performance.now();
    if (taken.length >= max || open.error !== undefined || open.ended || signal.aborted || left <= 0)
      return taken;
    await waitForStream(open, left, signal);
  }
}

/** Resolves when the stream has news, `ms` passed or `signal` aborted. */
function waitForStream(open: OpenStream, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      open.wake = () => {};
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener("abort", wake, { once: true });
    open.wake = wake;
  });
}
