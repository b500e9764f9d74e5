import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import {
  connect,
  headers,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  nanos,
} from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";
import {
  DEAD_LETTER_FROM_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
} from "../ingest/dead-letter.js";
import type { IngestSource, SourceMessage } from "../ingest/source.js";
import { ensureAuditStream } from "./audit-stream.js";
import { messageHeader } from "./raw-headers.js";

/** Options of `createNatsSource`. Give either `connection` or `servers`. */
export interface NatsSourceOptions {
  /** The application's open NATS connection; the source never closes it. Default: none. */
  connection?: NatsConnection;
  /** Server URLs to connect to when no `connection` is given; the source then owns and drains it. Default: none. */
  servers?: string | string[];
  /** Further options of the connection the source opens. Default: name "grpc-audit-ingest", reconnecting for ever. */
  connectOptions?: Omit<NodeConnectionOptions, "servers">;
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
   * the consumer is created, in ms. Longer than a batch takes to insert. Default: 30000.
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

/** An IngestSource on a JetStream durable pull consumer, and its connection. */
export interface NatsSource extends IngestSource<NatsSourceMessage> {
  /** The connection the source pulls through. */
  readonly connection: NatsConnection;
  /** Drains the connection when the source opened it. */
  close(): Promise<void>;
}

const DEFAULTS = Object.freeze({ ackWaitMs: 30_000 });
/** The shortest pull the JetStream client takes. */
const MIN_FETCH_WAIT_MS = 1000;

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
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.info(stream, durable).catch(async (error: unknown) => {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound))
      throw error;
    // Ingesters starting at once add the same config: the server takes the same one again.
    await jsm.consumers.add(stream, {
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
  await ensureAuditStream(jsm, { name: options.deadLetterStream, subjects: [deadLetterSubject] });
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, durable);
  let lag: number | undefined;
  return {
    name: `nats ${stream}/${durable}`,
    connection: nc,
    async fetch(max, maxWaitMs, signal) {
      if (signal.aborted) return [];
      const messages = await consumer.fetch({
        max_messages: max,
        expires: Math.max(maxWaitMs, MIN_FETCH_WAIT_MS),
      });
      const stop = () => messages.stop();
      signal.addEventListener("abort", stop, { once: true });
      const received: NatsSourceMessage[] = [];
      try {
        for await (const msg of messages) received.push(new SourceMessageImpl(stream, msg));
      } finally {
        signal.removeEventListener("abort", stop);
      }
      const last = received[received.length - 1];
      if (last !== undefined) lag = last.msg.info.pending;
      else {
        // Nothing came: nothing waits, or the consumer may deliver no more (its ack-pending limit is
        // held by other ingesters' batches). Its info tells which; unreachable, the last lag stays.
        lag = await consumer.info().then(
          (info) => info.num_pending,
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
      await nc.flush();
    },
    async retry(messages) {
      for (const m of messages) m.msg.nak();
    },
    async deadLetter(message, reason) {
      await publishDeadLetter(js, deadLetterSubject, message, reason, nc.info?.max_payload);
      await message.msg.ackAck();
    },
    lag: () => lag,
    close: async () => {
      if (!owned) return;
      // Drained, so that the acks sent go out first. During a broker outage there is nothing to drain
      // to (drain rejects at once): closed instead, else the connection would keep reconnecting and
      // hold the process (a stopped `grpc-audit ingest` would never exit). Acks not sent mean
      // redeliveries, which the store skips.
      await nc.drain().catch(() => {});
      if (!nc.isClosed()) await nc.close();
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

/**
 * The message as it was, with why and where from; its id makes a dead letter sent again stored once.
 * One that would not fit in the server's largest message (`maxPayload`) with the headers added — a
 * poison message as large as the server allows — goes without the original's headers, then with its
 * value cut (`DEAD_LETTER_TRUNCATED_HEADER`): else it could never be published, and so never be
 * acknowledged, failing again at every redelivery.
 */
async function publishDeadLetter(
  js: JetStreamClient,
  subject: string,
  message: NatsSourceMessage,
  reason: string,
  maxPayload: number | undefined,
): Promise<void> {
  const marks = (h: MsgHdrs) => {
    h.set(DEAD_LETTER_REASON_HEADER, reason.replace(/[\r\n]+/g, " "));
    h.set(DEAD_LETTER_FROM_HEADER, message.where);
    return h;
  };
  let h = headers();
  try {
    for (const [key, values] of message.msg.headers ?? []) for (const value of values) h.append(key, value);
  } catch {
    // A header block the client cannot parse (the reason says so): the dead letter goes without it.
  }
  marks(h);
  let data = message.data;
  if (maxPayload !== undefined) {
    // Room for the message id (the `where` again) and the header block's framing.
    const room = () => maxPayload - headerBytes(h) - message.where.length - 64;
    if (data.byteLength > room()) h = marks(headers());
    if (data.byteLength > room()) {
      h.set(DEAD_LETTER_TRUNCATED_HEADER, String(message.data.byteLength));
      data = data.subarray(0, Math.max(0, room()));
    }
  }
  await js.publish(subject, data, { headers: h, msgID: message.where });
}

/** The encoded size of a header block, about: "NATS/1.0\r\n", "name: value\r\n" per value, "\r\n". */
function headerBytes(h: MsgHdrs): number {
  let size = 12;
  for (const [key, values] of h)
    for (const value of values) size += Buffer.byteLength(key) + Buffer.byteLength(value) + 4;
  return size;
}

interface ResolvedOptions {
  connection: NatsConnection | undefined;
  servers: string | string[];
  connectOptions: Omit<NodeConnectionOptions, "servers">;
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
  const { connection, servers, connectOptions = {}, stream, consumer, subject } = options;
  if ((connection === undefined) === (servers === undefined))
    throw new AuditConfigError("nats source: give exactly one of `connection` and `servers`");
  const name = (key: string, value: unknown, pattern: RegExp) => {
    if (typeof value !== "string" || !pattern.test(value))
      throw new AuditConfigError(
        `nats source: \`${key}\` must be a ${pattern === NAME ? "stream or consumer name" : "subject"}, got ${JSON.stringify(value)}`,
      );
    return value;
  };
  name("stream", stream, NAME);
  name("consumer", consumer, NAME);
  if (subject !== undefined) name("subject", subject, SUBJECT);
  const ackWaitMs = options.ackWaitMs ?? DEFAULTS.ackWaitMs;
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < 1000)
    throw new AuditConfigError(
      `nats source: \`ackWaitMs\` must be an integer of at least 1000, got ${ackWaitMs}`,
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
