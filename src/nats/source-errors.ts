// The NATS source's errors: each names the source (`nats <stream>/<consumer>`) and says what the
// client's own error does not (a consumer deleted, a connection closed for good, a domain not found).
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { AuditConfigError, toError } from "../errors/index.js";
import type { ConnectionWatch } from "./connection-watch.js";
import type { ResolvedOptions } from "./nats-source-options.js";
import { shownServers } from "./server-list.js";

/**
 * An error at open that names the source: the client's own (a permission refused, a timeout) does
 * not say which stream it was about. Configuration errors and those naming the source already pass.
 * @internal
 */
export function openError(options: ResolvedOptions, error: unknown): unknown {
  const name = `nats ${options.stream}/${options.consumer}`;
  if (error instanceof AuditConfigError || (error instanceof Error && error.message.startsWith(name)))
    return error;
  return new Error(`${name}: open failed: ${toError(error).message}`, { cause: error });
}

/**
 * The error of a connection that could not be made at open (NATS down, credentials refused): the
 * client's own names neither the source nor the servers, shown as the client reads them (host and
 * port), so without credentials.
 * @internal
 */
export function connectError(options: ResolvedOptions, error: unknown): Error {
  return new Error(
    `nats ${options.stream}/${options.consumer}: open failed: connect to ${shownServers(options.servers)} ` +
      `failed: ${toError(error).message}`,
    { cause: error },
  );
}

/** `promise`, or a rejection saying `message()` after `ms` (its own later rejection ignored). @internal */
export async function within<T>(promise: Promise<T>, message: () => string, ms: number): Promise<T> {
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

/** Throws, naming the source and why, when the connection was closed for good: nothing more can pass. @internal */
export function closedForGood(name: string, what: string, watch: ConnectionWatch): void {
  const reason = watch.closedReason();
  if (reason !== undefined)
    throw new Error(`${name}: ${what}: connection closed for good (${reason}); open the source again`);
}

/** Why a reply is overdue: the connection is down, or up but silent (a path cut without a reset). @internal */
export function noReply(ms: number, nc: NatsConnection): string {
  const why = nc.isClosed() ? "connection closed" : "server down or the path to it cut; reconnecting";
  return `no reply from the server within ${ms} ms (${why})`;
}

/**
 * Whether the consumer is there, as its server says: "found", or the API's error code (the consumer
 * or its stream deleted: the server then leaves a pull unanswered and the client says "heartbeats
 * missed", as for a server that is down), or undefined when the server cannot tell in time.
 * @internal
 */
export async function lookUp(
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

/** Why a fetch failed when the consumer or its stream was deleted; undefined otherwise. @internal */
export function gone(
  found: "found" | number | undefined,
  stream: string,
  durable: string,
): string | undefined {
  if (found === JetStreamApiCodes.StreamNotFound)
    return `stream "${stream}" no longer exists (deleted); recreate it and the consumer, or point ingest at another`;
  if (found === JetStreamApiCodes.ConsumerNotFound)
    return `consumer "${durable}" of stream "${stream}" no longer exists (deleted); restart ingest to create it again`;
  return undefined;
}

/**
 * The error of a fetch whose consumer or stream was deleted: every later fetch fails the same, so
 * `grpc-audit ingest` exits on it (its name, as the CLI does not load this module) for its supervisor.
 * @internal
 */
export class SourceGoneError extends Error {
  override name = "SourceGoneError";
}

/** The error of a JetStream that did not answer at open: with a domain, most likely a wrong name. @internal */
export function noJetStream(error: unknown, options: ResolvedOptions): unknown {
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
 * @internal
 */
export async function streamNotFound(
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

/** JetStream's API error code for a consumer filter outside every subject of its stream. */
const FILTER_NOT_IN_STREAM = 10_093;

/**
 * The error of a consumer the server would not add: for a `subject` outside the stream's subjects, a
 * configuration error naming both (the server's own names neither); else `error`.
 * @internal
 */
export async function consumerRefused(
  jsm: JetStreamManager,
  options: ResolvedOptions,
  error: unknown,
): Promise<unknown> {
  const { stream, subject } = options;
  if (!(error instanceof JetStreamApiError && error.code === FILTER_NOT_IN_STREAM) || subject === undefined)
    return error;
  const subjects = await jsm.streams.info(stream).then(
    (info) => JSON.stringify(info.config.subjects),
    () => "which could not be read",
  );
  return new AuditConfigError(
    `nats source: subject "${subject}" is not within the subjects of stream "${stream}" (${subjects}): ` +
      "give one within them (subject), or add it to the stream's subjects",
    { cause: error },
  );
}

/** Whether the client gave a fetch up for missed heartbeats. @internal */
export const isHeartbeatsMissed = (error: unknown): boolean =>
  error instanceof Error && error.message === "heartbeats missed";

/** Why a fetch failed; the client's "heartbeats missed" alone does not say what it means. @internal */
export function fetchError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return isHeartbeatsMissed(error) ? `${message} (the server is down, or the path to it cut)` : message;
}
