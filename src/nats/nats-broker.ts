import { JetStreamApiError, type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import type { Broker, BrokerMessage } from "../brokers/broker.js";
import { createPublishTracker, untilAborted } from "../brokers/publish-tracker.js";

import {
  AuditConfigError,
  AuditEmitError,
  AuditEventTooLargeError,
  AuditInputError,
  AuditPartialDeliveryError,
  toError,
} from "../errors/index.js";
import { checkName, checkTimerMs, shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { type ConnectionWatch, watchConnection } from "./connection-watch.js";
import { drainOrClose } from "./drain-or-close.js";
import { prepareMessage, tooLarge } from "./nats-message.js";
import { PublishWindow } from "./publish-window.js";
import { checkServers, shownServers } from "./server-list.js";
import { createStreamLimits, type StreamLimits } from "./stream-limits.js";

/** Options of `createNatsBroker`. Give either `connection` or `servers`. */
export interface NatsBrokerOptions {
  /**
   * The application's open NATS connection. The broker publishes through it and never closes it: the
   * application does, after the broker's `close()`. Default: none.
   */
  connection?: NatsConnection;
  /**
   * Server URLs to connect to when no `connection` is given; the broker then owns it and drains it on
   * `close()` (closes it when the server does not answer within 5 s). Default: none.
   */
  servers?: string | string[];
  /**
   * Further options of the connection the broker opens (credentials, TLS, name). Default: name
   * "grpc-audit", `maxReconnectAttempts: -1` and `ignoreAuthErrorAbort: true`, so delivery resumes
   * after any outage, also one where the server refused the credentials for a while (the client
   * otherwise gives up after two authentication errors in a row), and `noAsyncTraces: true`: the client then does not capture a stack trace for every publish in case
   * it fails, which took a third of the CPU time of publishing (failures are still reported, with the
   * topic and the client's error as cause).
   */
  connectOptions?: Omit<NodeConnectionOptions, "servers">;
  /** The stream that must store the messages (sent as an expectation the server checks). Default: any. */
  stream?: string;
  /** How long to wait for each PubAck, in ms: 1 to 2^31 - 1 (what a Node timer holds). Default: 5000. */
  ackTimeoutMs?: number;
  /**
   * Most messages awaiting their PubAck at once, over all publishes of this broker: concurrent
   * `publish` calls share it and send one after the other, in the order of the calls. Default: 256.
   */
  maxInFlight?: number;
  /** Name in stats and errors. Default: "nats". */
  name?: string;
}

/** A Broker publishing to NATS JetStream. */
export interface NatsBroker extends Broker {
  /** The connection the broker publishes through. */
  readonly connection: NatsConnection;
  /**
   * The server's `max_payload` (1 MiB, the NATS default, until the server said), or the stream's
   * `max_msg_size` when smaller: read at connect with `stream`, else in the background at the first
   * publish to a subject; again when the stream refuses a message as over it, or 30 s after a read
   * failed. A publish never waits for such a read.
   */
  readonly maxMessageBytes: number;
  /** CloudEvents headers on NATS use the "ce-" prefix. */
  readonly cloudEventsHeaderPrefix: "ce-";
  /** Concurrent publishes are sent one after the other, in the order of the calls. */
  readonly publishesInCallOrder: true;
}

const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

const DEFAULTS = Object.freeze({ ackTimeoutMs: 5000, maxInFlight: 256, name: "nats" });

/**
 * Creates a Broker that publishes each message to JetStream and resolves `publish` only when every
 * message has its PubAck. Each message's JetStream message id (`Nats-Msg-Id`) is its event id (the
 * `grpc-audit-event-id` header; the key when absent), so a batch that is published again after a
 * timeout or a reconnect is stored once: the server drops copies within the stream's duplicate window
 * (see `ensureAuditStream`, `duplicateWindowMs`). `maxMessageBytes` is the server's `max_payload` (or
 * the stream's smaller `max_msg_size`, read at connect with `stream`, waiting at most `ackTimeoutMs`); a
 * larger message is refused before anything of its batch is sent. A publish that fails after the
 * stream acknowledged some of its messages (a stream full with discard-new) rejects with an
 * AuditPartialDeliveryError naming their event ids: the pipeline counts them delivered.
 *
 * Connecting happens here, so a wrong address, or NATS down, fails at startup: an AuditEmitError
 * naming the broker and the servers (host and port), the client's error as cause. With
 * `connectOptions.waitOnFirstConnect: true` it waits for NATS instead. Afterwards the client
 * reconnects by itself and failed publishes reject, for the delivery pipeline to retry.
 *
 * ```ts
 * const broker = await createNatsBroker({ servers: "nats://127.0.0.1:4222", stream: "AUDIT" });
 * await ensureAuditStream(broker.connection, { name: "AUDIT", subjects: ["audit.>"] });
 * const emitter = createBrokerEmitter({ broker, topic: "audit.events" });
 * ```
 */
export async function createNatsBroker(options: NatsBrokerOptions): Promise<NatsBroker> {
  const resolved = resolveOptions(options);
  const owned = resolved.connection === undefined;
  const nc =
    resolved.connection ??
    (await connect({
      name: "grpc-audit",
      maxReconnectAttempts: -1,
      ignoreAuthErrorAbort: true,
      noAsyncTraces: true,
      ...resolved.connectOptions,
      servers: resolved.servers,
    }).catch((error: unknown) => {
      throw connectError(resolved.name, resolved.servers, error);
    }));
  // Only its close reason is read: no refused subjects to count.
  const watch = watchConnection(nc, () => false);
  const limits = createStreamLimits(nc, resolved);
  // Once, bounded by ackTimeoutMs, so that even the first event over its max_msg_size is refused at emit.
  if (resolved.stream !== undefined) await limits.read(resolved.stream);
  const publisher = createPublisher(jetstream(nc), nc, resolved, watch, limits);
  const tracker = createPublishTracker(resolved.name);
  return {
    name: resolved.name,
    // A getter: inspect and console.log show "[Getter]", not the client's options with its credentials.
    get connection() {
      return nc;
    },
    cloudEventsHeaderPrefix: "ce-",
    publishesInCallOrder: true,
    get maxMessageBytes() {
      return Math.min(nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD, limits.smallest);
    },
    publish: (topic, messages, publishOptions) =>
      tracker.run(() => publisher(topic, messages, publishOptions?.signal)),
    close: () =>
      tracker.close(() => {
        watch.stop();
        return owned ? drainOrClose(nc) : undefined;
      }),
  };
}

type Publish = (topic: string, messages: readonly BrokerMessage[], signal?: AbortSignal) => Promise<void>;

function createPublisher(
  js: JetStreamClient,
  nc: NatsConnection,
  options: ResolvedOptions,
  watch: ConnectionWatch,
  limits: StreamLimits,
): Publish {
  const { name, stream, ackTimeoutMs, maxInFlight } = options;
  const window = new PublishWindow(maxInFlight);
  const expect = stream === undefined ? {} : { expect: { streamName: stream } };
  return async (topic, messages, signal) => {
    // Else a TypeError from deep inside, for a caller's bug that no retry can mend.
    if (
      !Array.isArray(messages) ||
      messages.some((message) => typeof message !== "object" || message === null)
    )
      throw new AuditInputError(`${name}: publish's \`messages\` must be an array of BrokerMessages`);
    signal?.throwIfAborted();
    const closed = watch.closedReason();
    if (closed !== undefined) throw closedError(name, topic, closed);
    // In the background: a read that fails or gets no answer never holds a publish.
    limits.readIfDue(topic);
    const limit = nc.info?.max_payload;
    const prepared = messages.map((message) => prepareMessage(name, message, stream, limit));
    for (const message of prepared) {
      if (limit !== undefined && message.bytes > limit) throw tooLarge(name, message, limit);
    }
    /** Ids of the messages the stream acknowledged: stored, whatever happens to the rest. */
    const acked: string[] = [];
    let pending = 0;
    let sending = true;
    let failure: unknown;
    /** Messages the stream refused as over its max_msg_size: they can never be stored. */
    const refused: string[] = [];
    let allSettled: () => void = () => {};
    const settled = new Promise<void>((resolve) => {
      allSettled = resolve;
    });
    const onSettled = () => {
      window.release();
      if (--pending === 0 && !sending) allSettled();
    };
    const onAck = (id: string) => {
      acked.push(id);
      onSettled();
    };
    const onFailure = (error: unknown, id: string) => {
      if (isOverStreamLimit(error)) refused.push(id);
      failure ??= error;
      onSettled();
    };
    const turn = window.takeTurn();
    try {
      await (signal === undefined ? turn.ready : Promise.race([turn.ready, untilAborted(signal)]));
      // Each message awaits its own PubAck, at most maxInFlight over the whole broker: pipelined,
      // bounded, and sent in order. A failure stops the sending; what is out may still be acknowledged.
      for (const message of prepared) {
        if (failure !== undefined || signal?.aborted === true) break;
        if (!window.tryAcquire()) await window.acquire(signal);
        pending++;
        js.publish(topic, message.value, {
          msgID: message.id,
          headers: message.headers,
          timeout: ackTimeoutMs,
          ...expect,
        }).then(
          () => onAck(message.id),
          (error: unknown) => onFailure(error, message.id),
        );
      }
    } catch (error) {
      if (signal?.aborted !== true) throw error;
    } finally {
      sending = false;
      turn.done();
    }
    if (pending > 0) await (signal === undefined ? settled : Promise.race([settled, untilAborted(signal)]));
    signal?.throwIfAborted();
    if (refused.length > 0) {
      void limits.read(topic); // its max_msg_size may have changed since it was read
      throw streamTooLarge(name, topic, stream, refused, failure);
    }
    if (failure !== undefined) {
      const closedNow = watch.closedReason();
      if (closedNow !== undefined) throw closedError(name, topic, closedNow, failure, acked);
      throw publishError(name, topic, stream, failure, acked, prepared.length);
    }
  };
}

/**
 * The client's own error ("connection refused") names neither the broker nor the servers; these are
 * shown as the client reads them, host and port, without credentials.
 */
function connectError(name: string, servers: string | string[], cause: unknown): AuditEmitError {
  return new AuditEmitError(name, `connect to ${shownServers(servers)} failed: ${toError(cause).message}`, {
    cause,
  });
}

/**
 * The client's own error says only "closed connection", not why nor that it is for good. Names the
 * `acked` events, stored before it closed, as publishError does.
 */
function closedError(
  name: string,
  topic: string,
  reason: string,
  cause?: unknown,
  acked: readonly string[] = [],
): AuditEmitError {
  const message =
    `publish to "${topic}" failed: connection closed: ${reason}; it is not made again: create the ` +
    "broker again (or, for a connection the application gave, reconnect it)";
  if (acked.length > 0)
    return new AuditPartialDeliveryError(name, message, { deliveredEventIds: acked, cause });
  return new AuditEmitError(name, message, cause === undefined ? undefined : { cause });
}

/** JetStream's answer to a message over the stream's `max_msg_size` (below the server's max_payload). */
const MESSAGE_SIZE_EXCEEDED = 10054;

function isOverStreamLimit(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === MESSAGE_SIZE_EXCEEDED;
}

/**
 * The stream will never store these messages: named, so that the pipeline drops and counts them
 * (`too_large`) and sends the rest, instead of retrying the batch for ever.
 */
function streamTooLarge(
  name: string,
  topic: string,
  stream: string | undefined,
  ids: readonly string[],
  failure: unknown,
): AuditEventTooLargeError {
  const where = stream === undefined ? `the stream capturing "${topic}"` : `stream "${stream}"`;
  return new AuditEventTooLargeError(
    name,
    `${where} refused the message for event${ids.length === 1 ? "" : "s"} ${ids.join(", ")} as over its ` +
      "max_msg_size: it never stores such a message",
    { eventIds: ids, cause: failure },
  );
}

/** JetStream's error code when the stream that stored a message is not the one the publish expected. */
const WRONG_STREAM = 10060;

/**
 * The error of a failed publish; an AuditPartialDeliveryError naming the `acked` events when the
 * stream stored some, so that the pipeline counts them delivered and retries only the others.
 */
function publishError(
  name: string,
  topic: string,
  stream: string | undefined,
  failure: unknown,
  acked: readonly string[],
  total: number,
): AuditEmitError {
  const error = toError(failure);
  // A stream's refusal (full with discard-new, sealed, wrong stream) does not name the stream itself.
  const refusal =
    failure instanceof JetStreamApiError
      ? failure.code === WRONG_STREAM && stream !== undefined
        ? `another stream than "${stream}" stores "${topic}" (was "${stream}" deleted, or its subjects moved to another stream? see ensureAuditStream): `
        : `${stream === undefined ? `the stream capturing "${topic}"` : `stream "${stream}"`} refused it: `
      : "";
  // JetStream answers "no responders" both when it is off and when no stream captures the subject,
  // which is far more likely (a subject mistyped, a stream not made yet): that leads.
  const why =
    error.name === "JetStreamNotEnabled"
      ? `no stream captures "${topic}" (see ensureAuditStream), or JetStream is not enabled on the ` +
        `server (the client says: ${error.message})`
      : `${refusal}${error.message}`;
  const message = `publish to "${topic}" failed after ${acked.length} of ${total} acknowledgements: ${why}`;
  return acked.length === 0
    ? new AuditEmitError(name, message, { cause: failure })
    : new AuditPartialDeliveryError(name, message, { deliveredEventIds: acked, cause: failure });
}

interface ResolvedOptions {
  connection: NatsConnection | undefined;
  servers: string | string[];
  connectOptions: Omit<NodeConnectionOptions, "servers">;
  stream: string | undefined;
  ackTimeoutMs: number;
  maxInFlight: number;
  name: string;
}

/** Begins every option error, as the other factories' do. */
const LABEL = "nats broker";

const KNOWN_OPTIONS: readonly (keyof NatsBrokerOptions)[] = [
  "connection",
  "servers",
  "connectOptions",
  "stream",
  "ackTimeoutMs",
  "maxInFlight",
  "name",
];

function resolveOptions(options: NatsBrokerOptions): Readonly<ResolvedOptions> {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError(`${LABEL}: options must be an object with \`servers\` or \`connection\``);
  rejectUnknownOptions(LABEL, options, KNOWN_OPTIONS);
  const { connection, servers, connectOptions = {}, stream } = options;
  const maxInFlight = options.maxInFlight ?? DEFAULTS.maxInFlight;
  const name = options.name ?? DEFAULTS.name;
  if ((connection === undefined) === (servers === undefined))
    throw new AuditConfigError(`${LABEL}: give exactly one of \`connection\` and \`servers\``);
  if (
    connection !== undefined &&
    (typeof connection !== "object" || typeof connection.request !== "function")
  )
    throw new AuditConfigError(`${LABEL}: \`connection\` must be an open NatsConnection`);
  if (connection === undefined) checkServers(LABEL, servers);
  checkName(LABEL, options.name);
  if (stream !== undefined && (typeof stream !== "string" || stream === ""))
    throw new AuditConfigError(`${LABEL}: \`stream\` must be a non-empty stream name`);
  // Node fires a longer timer after 1 ms: every publish would time out at once.
  const ackTimeoutMs = checkTimerMs(
    `${LABEL}: \`ackTimeoutMs\``,
    options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
  );
  if (!Number.isInteger(maxInFlight) || maxInFlight <= 0)
    throw new AuditConfigError(
      `${LABEL}: \`maxInFlight\` must be a positive integer, got ${shown(maxInFlight)}`,
    );
  return Object.freeze({
    connection,
    servers: servers ?? [],
    connectOptions,
    stream,
    ackTimeoutMs,
    maxInFlight,
    name,
  });
}
