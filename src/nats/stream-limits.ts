import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * After a read failed (no such stream yet, no permission for `$JS.API.STREAM.INFO`, no answer within
 * `ackTimeoutMs`), a publish reads again no sooner than this; a refusal as too large reads at once.
 */
const RETRY_AFTER_MS = 30_000;

/**
 * Most subjects whose capturing stream is looked up before a publish (without `stream`): a broker
 * publishing to ever new subjects would otherwise send a lookup and keep an entry for each. Past it,
 * a new subject's stream is read only after it refused a message as too large.
 */
const MAX_SUBJECTS = 256;

/** Options of `createStreamLimits`. @internal */
export interface StreamLimitsOptions {
  /** The broker's `stream`: the one stream read, whatever the subject. Default: the capturing stream. */
  stream: string | undefined;
  /** Bounds each request of a read, as it bounds each PubAck. */
  ackTimeoutMs: number;
  /** Monotonic clock in ms, for tests. Default: `performance.now`. */
  nowMs?: () => number;
}

/**
 * The `max_msg_size` of the streams a NATS broker publishes to (`stream`, else the one capturing the
 * subject): what the server's max_payload lets through but the stream refuses for ever. Known, the
 * broker sink refuses such events at emit, so fail-closed calls get the refusal instead of OK.
 *
 * A publish never waits for a read: `readIfDue` starts one in the background, once per stream (or
 * subject), again only 30 s after one failed; a refusal as too large reads again at once. So a user
 * without permission for `$JS.API.STREAM.INFO` (or a JetStream that does not answer) costs one failed
 * request now and then, never a delay of every publish.
 * @internal
 */
export interface StreamLimits {
  /** The smallest `max_msg_size` read (-1 or 0: none); Infinity when no stream has one. */
  readonly smallest: number;
  /** Reads the limit of the stream for `topic` now, unless a read of it is under way; never rejects. */
  read(topic: string): Promise<void>;
  /** Before a publish to `topic`: starts a read when none was made for its stream, or one failed 30 s ago. */
  readIfDue(topic: string): void;
}

/** Creates the StreamLimits of a broker on `nc`. @internal */
export function createStreamLimits(nc: NatsConnection, options: StreamLimitsOptions): StreamLimits {
  const { stream, ackTimeoutMs, nowMs = () => performance.now() } = options;
  const byStream = new Map<string, number>();
  /** Per stream (or subject): undefined once read or while read, else when the last read failed. */
  const tried = new Map<string, number | undefined>();
  const reading = new Map<string, Promise<void>>();
  let smallest = Number.POSITIVE_INFINITY;
  // No account check: a lookup, bounded by ackTimeoutMs; a missing stream is the publish's error.
  let jsm: Promise<JetStreamManager> | undefined;

  const remember = (key: string, failedAt: number | undefined) => {
    if (tried.has(key) || tried.size < MAX_SUBJECTS) tried.set(key, failedAt);
  };
  const readNow = async (key: string, topic: string) => {
    remember(key, undefined);
    try {
      jsm ??= jetstreamManager(nc, { checkAPI: false, timeout: ackTimeoutMs });
      const streams = (await jsm).streams;
      const name = stream ?? (await streams.find(topic));
      const limit = (await streams.info(name)).config.max_msg_size;
      byStream.set(name, limit > 0 ? limit : Number.POSITIVE_INFINITY);
      smallest = Math.min(...byStream.values());
    } catch {
      remember(key, nowMs());
    }
  };
  const read = (topic: string) => {
    const key = stream ?? topic;
    let running = reading.get(key);
    if (running === undefined) {
      // Deleted in a later tick, so always after it was set.
      running = readNow(key, topic).finally(() => reading.delete(key));
      reading.set(key, running);
    }
    return running;
  };
  return {
    get smallest() {
      return smallest;
    },
    read,
    readIfDue(topic) {
      const key = stream ?? topic;
      if (reading.has(key)) return;
      if (!tried.has(key)) {
        if (tried.size < MAX_SUBJECTS) void read(topic);
        return;
      }
      const failedAt = tried.get(key);
      if (failedAt !== undefined && nowMs() - failedAt >= RETRY_AFTER_MS) void read(topic);
    },
  };
}
