import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import {
  connect,
  millis,
  type NatsConnection,
  type NodeConnectionOptions,
  nanos,
} from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";
import type { IngestSource, SourceMessage } from "../ingest/source.js";
import { ensureAuditStream } from "./audit-stream.js";
import { deliveryOf } from "./delivery-info.js";
import { drainOrClose } from "./drain-or-close.js";
import { createDeadLetterCount, publishDeadLetter } from "./nats-dead-letter.js";
import { messageHeader } from "./raw-headers.js";
import { createRemovedCount } from "./removed-count.js";
import { checkConsumer, streamLimits } from "./source-checks.js";

/** Options of `createNatsSource`. Give either `connection` or `servers`. */
export interface NatsSourceOptions {
  /** The application's open NATS connection; the source never closes it. Default: none. */
  connection?: NatsConnection;
  /** Server URLs to connect to when no `connection` is given; the source then owns and drains it. Default: none. */
  servers?: string | string[];
  /**
   * Further options of the connection the source opens. Default: name "grpc-audit-ingest", reconnecting
   * for ever, a ping every 10 s (`pingInterval`; the client's default is 2 min), so that a connection
   * whose path was cut silently is given up and made again within 30 s.
   */
  connectOptions?: Omit<NodeConnectionOptions, "servers">;
  /**
   * The JetStream domain that holds `stream`, such as the hub's when the connection goes to a leaf
   * node with its own JetStream: the source's API requests then go to `$JS.<domain>.API`. Default:
   * none, the JetStream of the server connected to (or the one its account imports).
   */
  domain?: string;
  /** The stream the servers publish audit events to (see `ensureAuditStream`). */
  stream: string;
  /**
   * The durable pull consumer every ingester of this stream shares; created (explicit ack) when
   * missing, used as it is when it exists.
   */
  consumer: string;
  /** Only messages of this subject (wildcards allowed), when the consumer is created. Default: all of the stream. */
  subject?: string;
  /**
   * How long the server waits for an ingester's ack before it redelivers a message to another, when
   * the consumer is created, in ms; at least 2000. Longer than a batch takes to insert. A fetch waits
   * at most half the consumer's ack wait (1000 ms at least) for its batch to fill. Default: 30000.
   */
  ackWaitMs?: number;
  /** Subject undecodable messages are published to. Default: `grpc-audit.dead-letter.<stream>`. */
  deadLetterSubject?: string;
  /**
   * The stream that keeps the dead letters; created when missing, capturing `deadLetterSubject`.
   * Default: `<stream>_DEAD_LETTER`.
   */
  deadLetterStream?: string;
}

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
 */
export interface NatsSource extends IngestSource<NatsSourceMessage> {
  /** The connection the source pulls through. */
  readonly connection: NatsConnection;
  /**
   * The stream's settings, found at open, that remove messages whether ingested or not (`max_age`;
   * `max_msgs`, `max_bytes` with discard old; `max_msgs_per_subject`), one line each, such as
   * `stream "AUDIT" removes messages after 1h (max_age) whether ingested or not: …`. Empty when none does.
   */
  readonly warnings: readonly string[];
  /** Drains the connection when the source opened it. */
  close(): Promise<void>;
}

const DEFAULTS = Object.freeze({ ackWaitMs: 30_000 });
/** The ack wait of a consumer that names none (the server's default). */
const JETSTREAM_ACK_WAIT_MS = 30_000;
/** The shortest pull the JetStream client takes. */
const MIN_FETCH_WAIT_MS = 1000;
/**
 * The shortest `ackWaitMs`: a fetch waits at most half the ack wait, and never less than the
 * shortest pull: a shorter one would let messages come again into the fetch still holding them.
 */
const MIN_ACK_WAIT_MS = 2 * MIN_FETCH_WAIT_MS;
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
      pingInterval: PING_INTERVAL_MS,
      ...resolved.connectOptions,
      servers: resolved.servers,
    }));
  try {
    return await openSource(nc, owned, resolved);
  } catch (error) {
    if (owned) await nc.close();
    throw error;
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
    // Ingesters starting at once add the same config: the server takes the same one again.
    return jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      // JetStream's default (1000 unacknowledged) would make every fetch of a larger batch, or of
      // several ingesters together, wait out its expiry; room for many ingesters at the CLI's largest batch.
      max_ack_pending: MAX_ACK_PENDING,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs),
      ...(options.subject === undefined ? {} : { filter_subject: options.subject }),
    });
  });
  checkConsumer(info.config, options.stream, options.consumer, options.subject);
  const limits = streamLimits((await jsm.streams.info(stream)).config, info.config);
  const removed = limits.countable ? createRemovedCount(info.delivered) : undefined;
  await ensureAuditStream(jsm, { name: options.deadLetterStream, subjects: [deadLetterSubject] });
  const js = jetstream(nc, jsOptions());
  const consumer = await js.consumers.get(stream, durable);
  // A fetch holds its first messages until it ends: past the consumer's ack wait they would be
  // redelivered into it (and to other ingesters) while held. Half of it leaves the other half for
  // the batch's turn and insert. A consumer made elsewhere with an ack wait below MIN_ACK_WAIT_MS
  // leaves no room below the client's shortest fetch.
  const ackWaitMs = millis(info.config.ack_wait ?? nanos(JETSTREAM_ACK_WAIT_MS));
  const longestFetchMs = Math.max(MIN_FETCH_WAIT_MS, Math.floor(ackWaitMs / 2));
  let lag: number | undefined;
  const name = `nats ${stream}/${durable}`;
  const deadLetters = createDeadLetterCount();
  return {
    name,
    connection: nc,
    async fetch(max, maxWaitMs, signal) {
      // Opened once the event loop is free. The client times heartbeats from a fetch's creation but
      // sends its pull only when the messages are read, so work the caller did right after the call
      // (the ingester inserts the batch before; SQLite's insert is synchronous) counted as a missed
      // heartbeat, and the server, asked only after it, could not send its first before the client
      // counted the second: "heartbeats missed" from a live server.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal.aborted) return [];
      const expires = Math.min(Math.max(maxWaitMs, MIN_FETCH_WAIT_MS), longestFetchMs);
      const messages = await consumer.fetch({ max_messages: max, expires });
      const stop = () => messages.stop();
      signal.addEventListener("abort", stop, { once: true });
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
        const lookupMs = isHeartbeatsMissed(error) ? REPLY_TIMEOUT_MS : LOOKUP_TIMEOUT_MS;
        const found = signal.aborted ? undefined : await lookUp(jsm, stream, durable, lookupMs);
        // The client counts two heartbeat intervals (half the wait each) without a word as a server
        // down; one that answers now was only late (a starved host). The fetch ended early: messages
        // the server still sends into it come again after the ack wait.
        if (!(found === "found" && isHeartbeatsMissed(error)))
          throw new Error(`${name}: fetch failed: ${gone(found, stream, durable) ?? fetchError(error)}`, {
            cause: error,
          });
      } finally {
        clearTimeout(overdue);
        signal.removeEventListener("abort", stop);
      }
      const last = received[received.length - 1];
      if (last !== undefined) lag = last.msg.info.pending;
      else {
        // Nothing came: nothing waits, or the consumer may deliver no more (its ack-pending limit is
        // held by other ingesters' batches). Its info tells which; unreachable, the last lag stays.
        lag = await consumer.info().then(
          (info) => {
            removed?.position(info.delivered);
            return info.num_pending;
          },
          () => lag,
        );
      }
      return received;
    },
    // Plain acks and one round trip for the batch: the flush's reply says the server has read them.
    // (A per-message ackAck() waited for a reply each and cost a fifth of an ingester's CPU.) An ack the
    // server still loses means a redelivery, which the store skips.
    async ack(messages) {
      for (const m of messages) m.msg.ack();
      await within(
        nc.flush(),
        () =>
          `${name}: acks of ${messages.length} messages not confirmed: ${noReply(REPLY_TIMEOUT_MS, nc)}; ` +
          "acks lost mean redeliveries, which the store skips",
      );
    },
    async retry(messages) {
      for (const m of messages) m.msg.nak();
    },
    async deadLetter(message, reason) {
      const pubAck = await publishDeadLetter(js, deadLetterSubject, message, reason, nc.info?.max_payload);
      return deadLetters.acknowledge(message.msg, pubAck.duplicate);
    },
    lag: () => lag,
    ...(removed === undefined ? {} : { lost: removed.count }),
    warnings: Object.freeze(limits.warnings),
    close: async () => {
      if (!owned) return;
      // Drained, so that the acks sent go out first; closed instead during an outage, else a stopped
      // `grpc-audit ingest` would never exit. Acks not sent mean redeliveries, which the store skips.
      await drainOrClose(nc);
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

/** `promise`, or a rejection saying `message()` after `ms` (its own later rejection ignored). */
async function within<T>(promise: Promise<T>, message: () => string, ms = REPLY_TIMEOUT_MS): Promise<T> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a reply is overdue: the connection is down, or up but silent (a path cut without a reset). */
function noReply(ms: number, nc: NatsConnection): string {
  const why = nc.isClosed() ? "connection closed" : "server down or the path to it cut; reconnecting";
  return `no reply from the server within ${ms} ms (${why})`;
}

/**
 * Whether the consumer is there, as its server says: "found", or the API's error code (the consumer
 * or its stream deleted: the server then leaves a pull unanswered and the client says "heartbeats
 * missed", as for a server that is down), or undefined when the server cannot tell in time.
 */
async function lookUp(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  timeoutMs: number,
): Promise<"found" | number | undefined> {
  const info = jsm.consumers.info(stream, durable);
  // A server that is up answers at once; one that is down must not delay the fetch's error much.
  return within(info, () => "", timeoutMs).then(
    () => "found" as const,
    (error: unknown) => (error instanceof JetStreamApiError ? error.code : undefined),
  );
}

/** Why a fetch failed when the consumer or its stream was deleted; undefined otherwise. */
function gone(found: "found" | number | undefined, stream: string, durable: string): string | undefined {
  if (found === JetStreamApiCodes.StreamNotFound)
    return `stream "${stream}" no longer exists (deleted); recreate it and the consumer, or point ingest at another`;
  if (found === JetStreamApiCodes.ConsumerNotFound)
    return `consumer "${durable}" of stream "${stream}" no longer exists (deleted); restart ingest to create it again`;
  return undefined;
}

/** The error of a JetStream that did not answer at open: with a domain, most likely a wrong name. */
function noJetStream(error: unknown, options: ResolvedOptions): unknown {
  const { domain } = options;
  // The client answers "no responders" as JetStreamNotEnabled, a class it does not export.
  if (domain === undefined || !(error instanceof Error && error.name === "JetStreamNotEnabled")) return error;
  return new Error(
    `nats ${options.stream}/${options.consumer}: no JetStream answers for domain "${domain}" ` +
      `(${error.message}): check the domain's name, and that the server connected to reaches it ` +
      "(a leaf node's connection to its hub)",
    { cause: error },
  );
}

/**
 * The error of a stream not found at open, naming the JetStream domain looked in; the client's own
 * error when there is no domain, asked or of the server's.
 */
async function streamNotFound(
  jsm: JetStreamManager,
  options: ResolvedOptions,
  error: unknown,
): Promise<unknown> {
  const domain =
    options.domain ??
    (await jsm.getAccountInfo().then(
      (info) => info.domain,
      () => undefined,
    ));
  if (domain === undefined || domain === "") return error;
  const hint =
    options.domain === undefined ? "; a stream of another domain (a leaf node's hub) needs `domain`" : "";
  return new Error(
    `nats ${options.stream}/${options.consumer}: stream not found in JetStream domain "${domain}"${hint}`,
    { cause: error },
  );
}

const isHeartbeatsMissed = (error: unknown): boolean =>
  error instanceof Error && error.message === "heartbeats missed";

/** Why a fetch failed; the client's "heartbeats missed" alone does not say what it means. */
function fetchError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return isHeartbeatsMissed(error) ? `${message} (the server is down, or the path to it cut)` : message;
}

interface ResolvedOptions {
  connection: NatsConnection | undefined;
  servers: string | string[];
  connectOptions: Omit<NodeConnectionOptions, "servers">;
  domain: string | undefined;
  stream: string;
  consumer: string;
  subject: string | undefined;
  ackWaitMs: number;
  deadLetterSubject: string;
  deadLetterStream: string;
}

function resolveOptions(options: NatsSourceOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("nats source: options must be an object");
  const { connection, servers, connectOptions = {}, domain, stream, consumer, subject } = options;
  if ((connection === undefined) === (servers === undefined))
    throw new AuditConfigError("nats source: give exactly one of `connection` and `servers`");
  // The client takes no server at all as nats://127.0.0.1:4222: an empty list must not mean that.
  const serverList: unknown = typeof servers === "string" ? [servers] : servers;
  const isServer = (s: unknown) => typeof s === "string" && s !== "";
  if (
    servers !== undefined &&
    !(Array.isArray(serverList) && serverList.length > 0 && serverList.every(isServer))
  )
    throw new AuditConfigError(
      `nats source: \`servers\` must be a server URL or a non-empty list of them, got ${JSON.stringify(servers)}`,
    );
  const name = (key: string, value: unknown, pattern: RegExp) => {
    if (typeof value !== "string" || !pattern.test(value))
      throw new AuditConfigError(
        `nats source: \`${key}\` must be a ${pattern === NAME ? "stream or consumer name" : "subject"}, got ${JSON.stringify(value)}`,
      );
    return value;
  };
  if (domain !== undefined && (typeof domain !== "string" || !NAME.test(domain)))
    throw new AuditConfigError(
      `nats source: \`domain\` must be a JetStream domain name (no spaces, dots or wildcards), got ${JSON.stringify(domain)}`,
    );
  name("stream", stream, NAME);
  name("consumer", consumer, NAME);
  if (subject !== undefined) name("subject", subject, SUBJECT);
  const ackWaitMs = options.ackWaitMs ?? DEFAULTS.ackWaitMs;
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < MIN_ACK_WAIT_MS)
    throw new AuditConfigError(
      `nats source: \`ackWaitMs\` must be an integer of at least ${MIN_ACK_WAIT_MS}, got ${ackWaitMs}`,
    );
  const deadLetterSubject = name(
    "deadLetterSubject",
    options.deadLetterSubject ?? `grpc-audit.dead-letter.${stream}`,
    SUBJECT,
  );
  const deadLetterStream = name(
    "deadLetterStream",
    options.deadLetterStream ?? `${stream}_DEAD_LETTER`,
    NAME,
  );
  return {
    connection,
    servers: servers ?? [],
    connectOptions,
    domain,
    stream,
    consumer,
    subject,
    ackWaitMs,
    deadLetterSubject,
    deadLetterStream,
  };
}

/** Stream and consumer names: no spaces, dots, wildcards or path separators. */
const NAME = /^[^\s.*>/\\]+$/;
/** Subjects: dot-separated tokens without spaces. */
const SUBJECT = /^[^\s.]+(\.[^\s.]+)*$/;
