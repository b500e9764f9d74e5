import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
import { unlessAborted } from "../delivery/unless-aborted.js";
import { toError } from "../errors/index.js";
import type { IngestSource, SourceMessage } from "../ingest/source.js";
import { isAckSubjectOf, watchConnection } from "./connection-watch.js";
import { deliveryOf } from "./delivery-info.js";
import { drainOrClose } from "./drain-or-close.js";
import { createDeadLetterCount, ensureDeadLetterStream, publishDeadLetter } from "./nats-dead-letter.js";
import {
  DEFAULT_ACK_WAIT_MS,
  MIN_FETCH_WAIT_MS,
  type NatsSourceOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./nats-source-options.js";
import { messageHeader } from "./raw-headers.js";
import { createRemovedCount } from "./removed-count.js";
import { ackWaitOf, checkAckWait, checkConsumer, streamLimits } from "./source-checks.js";
import {
  closedForGood,
  connectError,
  consumerRefused,
  fetchError,
  gone,
  isHeartbeatsMissed,
  lookUp,
  noJetStream,
  noReply,
  openError,
  SourceGoneError,
  streamNotFound,
  within,
} from "./source-errors.js";

export type { NatsSourceOptions } from "./nats-source-options.js";

/** A message of the NATS source. */
export interface NatsSourceMessage extends SourceMessage {
  /** The JetStream message. */
  readonly msg: JsMsg;
}

/**
 * An IngestSource on a JetStream durable pull consumer, and its connection. `lost()` counts the
 * messages the stream removed (max_age, discard old limits, deletions, purges) before the consumer
 * delivered them: the stream sequences it skipped between two consecutive deliveries, counted by the
 * source that received the second and knew the first (its own message before, or the consumer's
 * info at open and after an empty fetch). It never counts a message twice, also over several
 * ingesters on one consumer, but under-counts: gaps after another ingester's delivery are not seen,
 * a message removed after its delivery and before its ack (never stored) is not counted, and messages
 * removed are counted only once the consumer delivers a later one. Absent when the consumer reads
 * only some of the stream's subjects (a skipped sequence may be another subject's message).
 * `fetch` does not end early on its `signal` while connected: it runs until it fills or its expiry
 * (`maxWaitMs`, at most half the ack wait), so that every message the server sent into it is
 * returned, none stranded; with the connection down, it ends at once.
 */
export interface NatsSource extends IngestSource<NatsSourceMessage> {
  /** The connection the source pulls through. */
  readonly connection: NatsConnection;
  /**
   * The stream's settings, found at open, that remove messages whether ingested or not (`max_age`;
   * `max_msgs`, `max_bytes` with discard old; `max_msgs_per_subject`; interest retention), and a
   * consumer starting at a sequence or time, one line each, such as `stream "AUDIT" removes messages
   * after 1h (max_age) whether ingested or not: …`. Empty when none does.
   */
  readonly warnings: readonly string[];
  /** Drains the connection when the source opened it; closes it at once while it is down. */
  close(): Promise<void>;
}

/**
 * How long the source waits for the server past a fetch's expiry and for the acks' confirmation
 * (the drain on close has its own bound, DRAIN_TIMEOUT_MS). Unbounded, a path cut without a TCP
 * reset held each of them until the client's pings gave the connection up, and a disconnected client
 * held a fetch until it reconnected: the ingester reported nothing meanwhile, and could not stop.
 */
const REPLY_TIMEOUT_MS = 5000;
/**
 * How long a fetch that failed waits to learn whether its consumer or stream was deleted. After
 * missed heartbeats, REPLY_TIMEOUT_MS instead: a server starved of CPU for a second (a busy host)
 * answers late but is not down, and the fetch then ends without an error; one down is reported
 * within the expiry plus REPLY_TIMEOUT_MS, as an unanswered fetch is.
 */
const LOOKUP_TIMEOUT_MS = 1000;
/**
 * The ingest connection's ping interval: with the client's 2 pings outstanding, a silent server is
 * given up within 30 s (the client's default interval, 2 min, took up to 6).
 */
const PING_INTERVAL_MS = 10_000;

/**
 * Opens the source ingesters pull audit events from: a durable JetStream pull consumer with explicit
 * acks, shared by every ingester that names it (each message goes to one; one not acknowledged within
 * `ackWaitMs` is redelivered, to another when its ingester died). Dead letters go to their own stream,
 * so they never come back to the consumer.
 *
 * ```ts
 * const source = await createNatsSource({ servers: "nats://nats:4222", stream: "AUDIT", consumer: "ingest" });
 * const ingester = createIngester({ source, store: await openPostgresStore({ connectionString }) });
 * ```
 */
export async function createNatsSource(options: NatsSourceOptions): Promise<NatsSource> {
  const resolved = resolveOptions(options);
  const owned = resolved.connection === undefined;
  const nc =
    resolved.connection ??
    (await connect({
      name: "grpc-audit-ingest",
      maxReconnectAttempts: -1,
      ignoreAuthErrorAbort: true,
      pingInterval: PING_INTERVAL_MS,
      ...resolved.connectOptions,
      servers: resolved.servers,
    }).catch((error: unknown) => {
      throw connectError(resolved, error);
    }));
  try {
    return await openSource(nc, owned, resolved);
  } catch (error) {
    if (owned) await nc.close();
    throw openError(resolved, error);
  }
}

/** Unacknowledged messages the consumer this source creates allows in all: 64 ingesters × 1024, or 6 × 10,000. */
const MAX_ACK_PENDING = 65_536;

async function openSource(nc: NatsConnection, owned: boolean, options: ResolvedOptions): Promise<NatsSource> {
  const { stream, consumer: durable, deadLetterSubject } = options;
  // A fresh options object each time: the client deletes `domain` from the one it is given.
  const jsOptions = () => (options.domain === undefined ? {} : { domain: options.domain });
  const jsm = await jetstreamManager(nc, jsOptions()).catch((error: unknown) => {
    throw noJetStream(error, options);
  });
  const info = await jsm.consumers.info(stream, durable).catch(async (error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      throw await streamNotFound(jsm, options, error);
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
      throw error;
    // Ingesters starting at once each add it: the server takes the same config again, and may take
    // another as an update (nats-server 2.9 does). So the consumer is read
    // again after the add, and that is what is checked: an ack wait asked that another ingester's add
    // replaced is then refused. One added after that read still goes unseen: give every ingester of a
    // consumer the same ack wait.
    const added = jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      // JetStream's default (1000 unacknowledged) would make every fetch of a larger batch, or of
      // several ingesters together, wait out its expiry; room for many ingesters at the CLI's largest batch.
      max_ack_pending: MAX_ACK_PENDING,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
      ...(options.subject === undefined ? {} : { filter_subject: options.subject }),
    });
    const addError = await added.then(
      () => undefined,
      (refused: unknown) => refused,
    );
    return jsm.consumers.info(stream, durable).catch(async (readError: unknown) => {
      throw await consumerRefused(jsm, options, addError ?? readError);
    });
  });
  const streamConfig = (await jsm.streams.info(stream)).config;
  checkConsumer(info.config, options.stream, options.consumer, options.subject, streamConfig);
  checkAckWait(info.config, options.stream, options.consumer, options.ackWaitMs);
  const limits = streamLimits(streamConfig, info.config);
  const removed = limits.countable ? createRemovedCount(info.delivered) : undefined;
  await ensureDeadLetterStream(jsm, options.deadLetterStream, deadLetterSubject);
  const js = jetstream(nc, jsOptions());
  const consumer = await js.consumers.get(stream, durable);
  // A fetch holds its first messages until it ends: past the consumer's ack wait they would be
  // redelivered into it (and to other ingesters) while held. Half of it leaves the other half for
  // the batch's turn and insert. A consumer made elsewhere with an ack wait below MIN_ACK_WAIT_MS
  // leaves no room below the client's shortest fetch.
  const ackWaitMs = ackWaitOf(info.config);
  const longestFetchMs = Math.max(MIN_FETCH_WAIT_MS, Math.floor(ackWaitMs / 2));
  let lag: number | undefined;
  const name = `nats ${stream}/${durable}`;
  const deadLetters = createDeadLetterCount();
  const watch = watchConnection(nc, isAckSubjectOf(stream, durable));
  // Down, the connection brings nothing more into a fetch (what was on its way is lost with it): a
  // stopped fetch then ends at once, not at its expiry.
  let connected = true;
  const stopWhenDown = new Set<() => void>();
  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "reconnect") connected = true;
      if (status.type !== "disconnect") continue;
      connected = false;
      for (const stop of stopWhenDown) stop();
    }
  })().catch(() => {});
  /** The consumer's settings read again: one changed by an operator since open may lose events. */
  const recheck = (config: Parameters<typeof checkConsumer>[0]) => {
    try {
      checkConsumer(config, stream, durable, options.subject);
    } catch (error) {
      const why = toError(error).message.replace(/^nats source: /, "");
      throw new Error(`${name}: the consumer was changed since open: ${why}`, { cause: error });
    }
  };
  return {
    name,
    // A getter: inspect and console.log show "[Getter]", not the client's options with its credentials.
    get connection() {
      return nc;
    },
    async fetch(max, maxWaitMs, signal) {
      // Opened once the event loop is free. The client times heartbeats from a fetch's creation but
      // sends its pull only when the messages are read, so work the caller did right after the call
      // (the ingester inserts the batch before; SQLite's insert is synchronous) counted as a missed
      // heartbeat, and the server, asked only after it, could not send its first before the client
      // counted the second: "heartbeats missed" from a live server.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal.aborted) return [];
      closedForGood(name, "fetch failed", watch);
      const expires = Math.min(Math.max(maxWaitMs, MIN_FETCH_WAIT_MS), longestFetchMs);
      const messages = await consumer.fetch({ max_messages: max, expires }).catch((error: unknown) => {
        closedForGood(name, "fetch failed", watch);
        throw new Error(`${name}: fetch failed: ${fetchError(error)}`, { cause: error });
      });
      // Not stopped on `signal` while connected: stop() unsubscribes the fetch's inbox at once, and
      // what the server had already sent to it is dropped unseen (no message left to nak), held until
      // the ack wait. Let run to its end (at most `expires`), it receives all it was sent.
      const cut = () => messages.stop();
      const stop = () => (connected ? stopWhenDown.add(cut) : cut());
      signal.addEventListener("abort", stop, { once: true });
      if (signal.aborted) stop(); // aborted while the fetch was being made
      // The server ends a fetch at its expiry; one still open well after had no reply (see REPLY_TIMEOUT_MS).
      const due = expires + REPLY_TIMEOUT_MS;
      const overdue = setTimeout(() => messages.stop(new Error(noReply(due, nc))), due);
      const received: NatsSourceMessage[] = [];
      try {
        for await (const msg of messages) {
          if (removed !== undefined) removed.delivered(deliveryOf(msg));
          received.push(new SourceMessageImpl(stream, msg));
        }
      } catch (error) {
        closedForGood(name, "fetch failed", watch);
        const lookupMs = isHeartbeatsMissed(error) ? REPLY_TIMEOUT_MS : LOOKUP_TIMEOUT_MS;
        // Stopped meanwhile, it waits no more: during an outage the lookup waits out its timeout.
        const found = signal.aborted
          ? undefined
          : await unlessAborted(lookUp(jsm, stream, durable, lookupMs), signal);
        // The client counts two heartbeat intervals (half the wait each) without a word as a server
        // down; one that answers now was only late (a starved host). The fetch ended early: messages
        // the server still sends into it come again after the ack wait.
        const deleted = gone(found, stream, durable);
        if (deleted !== undefined)
          throw new SourceGoneError(`${name}: fetch failed: ${deleted}`, { cause: error });
        if (!(found === "found" && isHeartbeatsMissed(error)))
          throw new Error(`${name}: fetch failed: ${fetchError(error)}`, { cause: error });
      } finally {
        clearTimeout(overdue);
        signal.removeEventListener("abort", stop);
        stopWhenDown.delete(cut);
      }
      const last = received[received.length - 1];
      if (last !== undefined) lag = last.msg.info.pending;
      else if (connected) {
        // Nothing came: nothing waits, or the consumer may deliver no more (its ack-pending limit is
        // held by other ingesters' batches). Its info tells which; unreachable, the last lag stays.
        // Not asked with the connection down: the request would wait out its timeout (5 s), and a
        // fetch stopped then would not end at once.
        const info = await consumer.info().catch(() => undefined);
        if (info !== undefined) {
          removed?.position(info.delivered);
          lag = info.num_pending;
          recheck(info.config);
        }
      }
      return received;
    },
    // Plain acks and one round trip for the batch: the flush's reply says the server has read them.
    // (A per-message ackAck() waited for a reply each and cost a fifth of an ingester's CPU.) The server
    // answers a refused publish (no permission) on the connection, before that reply. An ack the server
    // still loses means a redelivery, which the store skips.
    async ack(messages) {
      closedForGood(name, `acks of ${messages.length} messages not sent`, watch);
      const refusedBefore = watch.refused();
      for (const m of messages) m.msg.ack();
      await within(
        nc.flush(),
        () =>
          `${name}: acks of ${messages.length} messages not confirmed: ${noReply(REPLY_TIMEOUT_MS, nc)}; ` +
          "acks lost mean redeliveries, which the store skips",
        REPLY_TIMEOUT_MS,
      );
      // The client hands the server's error to the status listeners a turn after it read it.
      await new Promise((resolve) => setImmediate(resolve));
      if (watch.refused() > refusedBefore)
        throw new Error(
          `${name}: acks of ${messages.length} messages refused by the server (${watch.lastRefusal()}): ` +
            `the user needs permission to publish to $JS.ACK.${stream}.${durable}.>; until then every ` +
            "message is delivered again after the ack wait, and stored as a duplicate",
        );
    },
    async retry(messages) {
      closedForGood(name, `${messages.length} messages not handed back`, watch);
      for (const m of messages) m.msg.nak();
      // A consumer given a max_deliver since open delivers these no more: say so, they are lost.
      const info = await consumer.info().catch(() => undefined);
      if (info !== undefined) recheck(info.config);
    },
    async deadLetter(message, reason) {
      closedForGood(name, `dead letter of ${message.where} not sent`, watch);
      const pubAck = await publishDeadLetter(
        js,
        deadLetterSubject,
        message,
        reason,
        nc.info?.max_payload,
      ).catch((error: unknown) => {
        throw new Error(
          `${name}: dead letter of ${message.where} to "${deadLetterSubject}" (stream ` +
            `"${options.deadLetterStream}") failed: ${toError(error).message}`,
          { cause: error },
        );
      });
      return deadLetters.acknowledge(message.msg, pubAck.duplicate);
    },
    lag: () => lag,
    ...(removed === undefined ? {} : { lost: removed.count }),
    warnings: Object.freeze(limits.warnings),
    close: async () => {
      watch.stop();
      // The client's iterator has a stop(); its public type says only AsyncIterable.
      (statuses as { stop?: () => void }).stop?.();
      if (!owned) return;
      // Drained, so that the acks sent go out first; closed instead during an outage (at once when
      // known down: a drain then waits for a reconnect), else a stopped `grpc-audit ingest` would not
      // exit. Acks not sent mean redeliveries, which the store skips.
      if (connected) await drainOrClose(nc);
      else await nc.close();
    },
  };
}

/**
 * A message as the ingester sees it: one small object per message, with no closures of its own. The
 * sequence (`where`) is read only when asked: parsing each message's reply subject costs.
 */
class SourceMessageImpl implements NatsSourceMessage {
  readonly data: Uint8Array;
  constructor(
    private readonly stream: string,
    readonly msg: JsMsg,
  ) {
    this.data = msg.data;
  }
  get where(): string {
    return `${this.stream} seq ${this.msg.seq}`;
  }
  header(name: string): string | undefined {
    return messageHeader(this.msg, name);
  }
}
