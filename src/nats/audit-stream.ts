import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";

/** Options of `ensureAuditStream`. */
export interface AuditStreamOptions {
  /** Stream name. */
  name: string;
  /** Subjects it stores, such as `["audit.>"]`; the broker's topic must match one. */
  subjects: string[];
  /**
   * Window in which the server drops a message whose id (the event id) it has already stored, in ms.
   * Make it longer than any outage the delivery pipeline rides out by retrying. At most `maxAgeMs` when
   * that is set (the server refuses a longer one). Default: 120000, or `maxAgeMs` when shorter (as the
   * server does).
   */
  duplicateWindowMs?: number;
  /**
   * Most bytes the stream keeps. Default: no limit. When reached, new messages are refused (the
   * publish fails and the pipeline retries or spools), never old audit events deleted to make room.
   */
  maxBytes?: number;
  /**
   * How long messages are kept, in ms. Default: 0, for ever. The server removes a message this old
   * whether an ingester stored it or not: make it longer than any ingest outage (the NATS source counts
   * such messages in `lost()` and names the setting in its `warnings`).
   */
  maxAgeMs?: number;
  /** Copies in a cluster. Default: 1. */
  replicas?: number;
  /** Where messages are kept. Default: "file". It cannot change once the stream exists. */
  storage?: "file" | "memory";
  /**
   * The JetStream domain to make the stream in, when `target` is a connection (such as the hub's
   * domain, from a leaf node with its own JetStream). Default: none, the JetStream of the server
   * connected to. A JetStreamManager comes with its own: give `domain` to `jetstreamManager` instead.
   */
  domain?: string;
}

/** The option names `ensureAuditStream` knows (a name missing here, or one the interface lacks, fails to compile). */
const OPTION_NAMES = Object.keys({
  name: 1,
  subjects: 1,
  duplicateWindowMs: 1,
  maxBytes: 1,
  maxAgeMs: 1,
  replicas: 1,
  storage: 1,
  domain: 1,
} satisfies Record<keyof AuditStreamOptions, 1>);

/** What `ensureAuditStream` did, and the stream's info afterwards. */
export interface AuditStreamResult {
  /** "created": the stream did not exist; "updated": its settings changed; "unchanged": they matched. */
  action: "created" | "updated" | "unchanged";
  /** The stream's configuration and state as the server reports it: after the change, or as found. */
  info: StreamInfo;
}

/** `duplicateWindowMs` is 120000, or `maxAgeMs` when that is set and shorter (see resolveOptions). */
const DEFAULTS = Object.freeze({ duplicateWindowMs: 120_000, maxBytes: -1, maxAgeMs: 0, replicas: 1 });

/**
 * Creates the JetStream stream audit events are published to, or brings an existing one to the given
 * settings (subjects, duplicate window, limits, replicas), leaving its messages in place. The stream
 * keeps every message until its limits: limits retention, discard new (a full stream refuses new
 * messages), no limit on the number of messages, in all or per subject. Calling it again with the same
 * options changes nothing (`action: "unchanged"`), so it can run at every startup.
 *
 * Throws an AuditConfigError, changing nothing, for a bad option (such as a `duplicateWindowMs` longer
 * than `maxAgeMs`), when the existing stream has another storage, or
 * interest or work-queue retention (it deletes messages once consumed, and NATS cannot change a
 * stream's retention), or when `replicas` is above 1 on a JetStream that is not clustered.
 *
 * ```ts
 * await ensureAuditStream(nc, { name: "AUDIT", subjects: ["audit.>"], duplicateWindowMs: 10 * 60_000 });
 * ```
 */
export async function ensureAuditStream(
  target: JetStreamManager | NatsConnection,
  options: AuditStreamOptions,
): Promise<AuditStreamResult> {
  if (!isManager(target) && !isConnection(target))
    throw new AuditConfigError(
      `ensureAuditStream: the first argument must be a NatsConnection or a JetStreamManager, got ${describe(target)}`,
    );
  const { domain, ...wanted } = resolveOptions(options);
  if (domain !== undefined && isManager(target))
    throw new AuditConfigError(
      "ensureAuditStream: domain: a JetStreamManager has its own domain; pass a connection, or make the manager with it",
    );
  const jsm = isManager(target)
    ? target
    : await jetstreamManager(target, domain === undefined ? {} : { domain });
  const existing = await jsm.streams.info(wanted.name).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    return refused(wanted.name, wanted.num_replicas)(error);
  });
  if (existing === undefined) {
    const info = await jsm.streams
      .add({ ...wanted, storage: STORAGE[wanted.storage] })
      .catch(refused(wanted.name, wanted.num_replicas));
    return { action: "created", info };
  }
  checkUnchangeable(existing, wanted);
  const { config } = existing;
  const unchanged =
    sameSet(config.subjects ?? [], wanted.subjects) &&
    config.duplicate_window === wanted.duplicate_window &&
    config.max_msgs <= 0 &&
    (config.max_msgs_per_subject ?? -1) <= 0 &&
    config.max_bytes === wanted.max_bytes &&
    config.max_age === wanted.max_age &&
    config.num_replicas === wanted.num_replicas &&
    config.discard === wanted.discard;
  if (unchanged) return { action: "unchanged", info: existing };
  const { name, storage: _, retention: __, ...update } = wanted;
  const info = await jsm.streams.update(name, update).catch(refused(name, wanted.num_replicas));
  return { action: "updated", info };
}

/** JetStream's code for replicas above 1 on a server that is not clustered. */
const REPLICAS_NOT_SUPPORTED = 10074;

/** What each retention that is not "limits" deletes, in words. */
const DELETES: Record<string, string> = {
  [RetentionPolicy.Interest]:
    "it deletes a message once every consumer acknowledged it, and at once when no consumer is interested",
  [RetentionPolicy.Workqueue]: "it deletes a message once a consumer acknowledged it",
};

/** Throws when the existing stream has a setting NATS cannot change, or ensureAuditStream must not. */
function checkUnchangeable(
  existing: StreamInfo,
  wanted: Omit<ReturnType<typeof resolveOptions>, "domain">,
): void {
  const { config } = existing;
  const name = wanted.name;
  if (config.storage !== STORAGE[wanted.storage])
    throw new AuditConfigError(
      `ensureAuditStream: storage: stream "${name}" exists with ${config.storage} storage, which cannot change to ${wanted.storage}`,
    );
  if (config.retention !== wanted.retention)
    throw new AuditConfigError(
      `ensureAuditStream: retention: stream "${name}" exists with ${config.retention} retention (${DELETES[config.retention] ?? "it deletes messages before their limits"}), ` +
        "and NATS cannot change a stream's retention: once ingest has stored its messages, delete it and call " +
        "ensureAuditStream again (or use a new stream, on subjects of its own)",
    );
  // A server that is not clustered (2.9) takes the update and keeps one copy all the same.
  if (wanted.num_replicas > 1 && existing.cluster === undefined)
    throw replicasError(name, wanted.num_replicas);
}

/**
 * What a refusal of the stream's name or settings becomes: an AuditConfigError naming
 * ensureAuditStream, with NATS's words (subjects overlapping another stream's, an invalid subject or
 * name) and its error as the cause. Other errors (a lost connection, a timeout) pass as they are.
 */
function refused(name: string, replicas: number) {
  return (error: unknown): never => {
    if (error instanceof JetStreamApiError && error.code === REPLICAS_NOT_SUPPORTED)
      throw replicasError(name, replicas, error);
    if (error instanceof JetStreamApiError)
      throw new AuditConfigError(`ensureAuditStream: stream "${name}": NATS refused it: ${error.message}`, {
        cause: error,
      });
    if (error instanceof Error && error.name === "InvalidNameError")
      throw new AuditConfigError(`ensureAuditStream: name: ${error.message}`, { cause: error });
    throw error;
  };
}

function replicasError(name: string, replicas: number, cause?: unknown): AuditConfigError {
  return new AuditConfigError(
    `ensureAuditStream: replicas: stream "${name}" cannot have ${replicas} copies: this JetStream is not clustered and keeps ` +
      "one; ask replicas 1, or make the stream on a JetStream cluster",
    cause === undefined ? undefined : { cause },
  );
}

const STORAGE = { file: StorageType.File, memory: StorageType.Memory } as const;

function isManager(target: unknown): target is JetStreamManager {
  return (
    typeof target === "object" &&
    target !== null &&
    typeof (target as Partial<JetStreamManager>).streams === "object"
  );
}

function isConnection(target: unknown): target is NatsConnection {
  return (
    typeof target === "object" &&
    target !== null &&
    typeof (target as Partial<NatsConnection>).request === "function"
  );
}

/** A value as an error message shows it: its type, never its content (a connection may hold credentials). */
function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function resolveOptions(options: AuditStreamOptions) {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError(`ensureAuditStream: options must be an object, got ${describe(options)}`);
  rejectUnknownOptions("ensureAuditStream", options, OPTION_NAMES);
  const { name, subjects, storage = "file", domain } = options;
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  const maxAgeMs = options.maxAgeMs ?? DEFAULTS.maxAgeMs;
  const replicas = options.replicas ?? DEFAULTS.replicas;
  const fail = (message: string) => new AuditConfigError(`ensureAuditStream: ${message}`);
  if (typeof name !== "string" || name === "")
    throw fail(`name: a stream name is required, got ${shown(name)}`);
  if (
    !Array.isArray(subjects) ||
    subjects.length === 0 ||
    subjects.some((s) => typeof s !== "string" || s === "")
  )
    throw fail("subjects: a non-empty list of subjects is required");
  if (!Number.isInteger(maxBytes) || (maxBytes <= 0 && maxBytes !== -1))
    throw fail(`maxBytes: must be a positive integer, or -1 for no limit, got ${shown(maxBytes)}`);
  // NATS refuses a max age under 100 ms with a raw API error.
  if (!Number.isInteger(maxAgeMs) || maxAgeMs < 0 || (maxAgeMs > 0 && maxAgeMs < 100))
    throw fail(
      `maxAgeMs: must be 0 (for ever) or an integer of at least 100 (ms, the least NATS takes), got ${shown(maxAgeMs)}`,
    );
  // The server's own default when the window is left out: it refuses a window longer than max_age.
  const duplicateWindowMs =
    options.duplicateWindowMs ??
    (maxAgeMs > 0 ? Math.min(DEFAULTS.duplicateWindowMs, maxAgeMs) : DEFAULTS.duplicateWindowMs);
  if (!Number.isInteger(duplicateWindowMs) || duplicateWindowMs <= 0)
    throw fail(`duplicateWindowMs: must be a positive integer, got ${shown(duplicateWindowMs)}`);
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs)
    throw fail(
      `duplicateWindowMs: must be at most maxAgeMs (${maxAgeMs}), got ${duplicateWindowMs}: the server ` +
        "refuses a duplicate window longer than it keeps messages; shorten duplicateWindowMs or lengthen maxAgeMs",
    );
  if (!Number.isInteger(replicas) || replicas < 1)
    throw fail(`replicas: must be a positive integer, got ${shown(replicas)}`);
  if (domain !== undefined && (typeof domain !== "string" || !/^[^\s.*>/\\]+$/.test(domain)))
    throw fail(
      `domain: must be a JetStream domain name (no spaces, dots or wildcards), got ${shown(domain)}`,
    );
  if (!Object.hasOwn(STORAGE, storage))
    throw fail(`storage: must be "file" or "memory", got ${shown(storage)}`);
  return {
    name,
    subjects: [...subjects],
    duplicate_window: nanos(duplicateWindowMs),
    // Limits retention and no count limit: only the asked limits (refusing new messages) end a message's life.
    retention: RetentionPolicy.Limits,
    max_msgs: -1,
    max_msgs_per_subject: -1,
    // The server refuses it without a per-subject limit.
    discard_new_per_subject: false,
    max_bytes: maxBytes,
    max_age: nanos(maxAgeMs),
    num_replicas: replicas,
    // Audit evidence is never deleted to make room: a full stream refuses new messages instead.
    discard: DiscardPolicy.New,
    storage,
    domain,
  };
}
