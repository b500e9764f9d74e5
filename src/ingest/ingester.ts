import { AuditConfigError, toError } from "../errors/index.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { decodeMessage } from "./decode.js";
import type { IngestSource, IngestStore, SourceMessage } from "./source.js";

/** Options of `createIngester`. */
export interface IngesterOptions<M extends SourceMessage> {
  /** Where the events come from, such as `createNatsSource(…)`. The ingester never closes it. */
  source: IngestSource<M>;
  /** Where they go: the PostgreSQL store or the SQLite store. The ingester never closes it. */
  store: IngestStore;
  /** Most messages per batch (one insert, one transaction). Default: 500. */
  batchSize?: number;
  /** Longest wait for a batch to fill before a smaller one is inserted, in ms. Default: 1000. */
  maxWaitMs?: number;
  /** Pause after a failed fetch or insert before trying again, in ms. Default: 1000. */
  retryDelayMs?: number;
  /** Told every failure (fetch, insert, ack, dead letter); the ingester goes on. Default: ignore. */
  onError?: (error: Error) => void;
}

/** Counters of an ingester since it started. */
export interface IngestStats {
  /** Messages fetched, redeliveries included. */
  received: number;
  /** Events newly stored. */
  inserted: number;
  /** Events that were stored already (a redelivery, or a copy in the same batch): skipped. */
  duplicates: number;
  /** Undecodable messages moved to the dead-letter subject or topic. */
  deadLettered: number;
  /** Batches committed. */
  batches: number;
  /** Failures reported to `onError`. */
  errors: number;
  /** Messages waiting for the consumer after the last fetch; undefined when the source does not say. */
  lag: number | undefined;
}

/** A running ingester. */
export interface Ingester {
  /** Counters so far (a copy). */
  stats(): IngestStats;
  /** Resolves once the ingester stopped (after `stop()`). */
  readonly done: Promise<void>;
  /** Stops fetching, finishes the current batch (insert and ack) and resolves once it is done. */
  stop(): Promise<void>;
}

const DEFAULTS = Object.freeze({ batchSize: 500, maxWaitMs: 1000, retryDelayMs: 1000 });

/**
 * Starts an ingester: it pulls batches of messages from `source`, decodes their events, inserts each
 * batch into `store` (events already there are skipped) and acknowledges the messages only after the
 * insert committed. A batch whose insert fails goes back to the source for redelivery; an undecodable
 * message goes to the dead letters and never blocks the others. Any number of ingesters may share a
 * source's consumer: delivery is at least once, the insert idempotent, so each event is stored once.
 *
 * ```ts
 * const ingester = createIngester({ source: await createNatsSource({ … }), store });
 * process.once("SIGTERM", () => void ingester.stop());
 * await ingester.done;
 * ```
 */
export function createIngester<M extends SourceMessage>(options: IngesterOptions<M>): Ingester {
  const { source, store, batchSize, maxWaitMs, retryDelayMs, onError } = resolveOptions(options);
  const stats: IngestStats = {
    received: 0,
    inserted: 0,
    duplicates: 0,
    deadLettered: 0,
    batches: 0,
    errors: 0,
    lag: undefined,
  };
  const stopping = new AbortController();
  const fail = (error: unknown) => {
    stats.errors++;
    try {
      onError(toError(error));
    } catch {
      // A throwing handler must not stop ingestion.
    }
  };
  const pause = () =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener("abort", wake);
        resolve();
      }, retryDelayMs);
      stopping.signal.addEventListener("abort", wake, { once: true });
    });

  /** One batch; resolves to false when it failed and the loop should pause. */
  const ingestBatch = async (): Promise<boolean> => {
    let messages: M[];
    try {
      messages = await source.fetch(batchSize, maxWaitMs, stopping.signal);
    } catch (error) {
      fail(error);
      return false;
    }
    stats.lag = source.lag();
    if (messages.length === 0) return true;
    stats.received += messages.length;
    const events = new Map<string, AuditEvent>();
    const stored: M[] = [];
    let copies = 0;
    for (const message of messages) {
      const decoded = decodeMessage(message);
      if ("reason" in decoded) {
        try {
          await source.deadLetter(message, decoded.reason);
          stats.deadLettered++;
        } catch (error) {
          fail(error); // not acknowledged: it comes back and is tried again
        }
        continue;
      }
      if (events.has(decoded.event.eventId)) copies++;
      else events.set(decoded.event.eventId, decoded.event);
      stored.push(message);
    }
    if (stored.length === 0) return true;
    let inserted: number;
    try {
      inserted = await store.insert([...events.values()]);
    } catch (error) {
      fail(error);
      await source.retry(stored).catch(fail);
      return false;
    }
    stats.inserted += inserted;
    stats.duplicates += copies + events.size - inserted;
    stats.batches++;
    // Committed: a failed ack only means a redelivery, which the store skips.
    await source.ack(stored).catch(fail);
    return true;
  };

  const done = (async () => {
    while (!stopping.signal.aborted) {
      if (!(await ingestBatch())) await pause();
    }
  })();
  return {
    stats: () => ({ ...stats }),
    done,
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

function resolveOptions<M extends SourceMessage>(options: IngesterOptions<M>) {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("ingester: options must be an object");
  const { source, store } = options;
  if (typeof source?.fetch !== "function" || typeof source.ack !== "function")
    throw new AuditConfigError("ingester: `source` must be an IngestSource (see createNatsSource)");
  if (typeof store?.insert !== "function")
    throw new AuditConfigError("ingester: `store` must have insert(events), such as the PostgreSQL store");
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value <= 0)
      throw new AuditConfigError(`ingester: \`${name}\` must be a positive integer, got ${value}`);
    return value;
  };
  if (options.onError !== undefined && typeof options.onError !== "function")
    throw new AuditConfigError("ingester: `onError` must be a function");
  return {
    source,
    store,
    batchSize: positive("batchSize", options.batchSize ?? DEFAULTS.batchSize),
    maxWaitMs: positive("maxWaitMs", options.maxWaitMs ?? DEFAULTS.maxWaitMs),
    retryDelayMs: positive("retryDelayMs", options.retryDelayMs ?? DEFAULTS.retryDelayMs),
    onError: options.onError ?? (() => {}),
  };
}
