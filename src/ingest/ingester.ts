import { AuditConfigError, AuditError, toError } from "../errors/index.js";
import { checkTimerMs, shown } from "../errors/option-checks.js";
import { callHook } from "../errors/report.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { type Batch, createBatch } from "./batch.js";
import { insertHalves, refusesRows } from "./insert-halves.js";
import type { IngestSource, IngestStore, SourceMessage } from "./source.js";

/** Options of `createIngester`. */
export interface IngesterOptions<M extends SourceMessage> {
  /** Where the events come from, such as `createNatsSource(…)`. The ingester never closes it. */
  source: IngestSource<M>;
  /** Where they go: the PostgreSQL store or the SQLite store. The ingester never closes it. */
  store: IngestStore;
  /** Most messages per batch (one insert, one transaction). Default: 2000. */
  batchSize?: number;
  /** Longest wait for a batch to fill before a smaller one is inserted, in ms. Default: 1000. */
  maxWaitMs?: number;
  /** Pause after a failed fetch or insert before trying again, in ms. Default: 1000. */
  retryDelayMs?: number;
  /**
   * Told every failure (fetch, insert, ack, dead letter), and every time the source's `lost()` grew
   * (messages the broker removed before they were stored: their events are lost); the ingester goes
   * on. Default: ignore.
   */
  onError?: (error: Error) => void;
}

/** Counters of an ingester since it started. */
export interface IngestStats {
  /** Messages fetched, redeliveries included. */
  received: number;
  /** Events newly stored. */
  inserted: number;
  /**
   * Messages handled already, skipped: events the store held (a redelivery, or the same bytes twice in
   * one batch), and undecodable messages whose dead letter the broker held (NATS: dropped as a copy by
   * the dead-letter stream). So `received` = `inserted` + `duplicates` + `deadLettered`, but for
   * failures (a failed insert or dead letter comes back and is received again).
   */
  duplicates: number;
  /**
   * Messages moved to the dead-letter subject or topic: undecodable ones, and events the store
   * refused alone (a batch it refuses for some rows goes in halves), such as another event (other
   * bytes) under an id stored or met earlier in the batch; a copy the broker already held is in `duplicates`.
   */
  deadLettered: number;
  /** Batches committed. */
  batches: number;
  /** Failures reported to `onError`; the reports of lost messages are counted in `lost`, not here. */
  errors: number;
  /** Messages waiting for the consumer after the last fetch; undefined when the source does not say. */
  lag: number | undefined;
  /**
   * Messages the broker removed before they were stored (the source's `lost()`, read after each
   * fetch): their events are lost. Undefined when the source cannot tell.
   */
  lost: number | undefined;
}

/** A running ingester. */
export interface Ingester {
  /** Counters so far (a copy). */
  stats(): IngestStats;
  /** Resolves once the ingester stopped (after `stop()`). */
  readonly done: Promise<void>;
  /**
   * Stops fetching, finishes the batches it holds (the one being inserted and the one fetched ahead:
   * insert and ack) and resolves once they are done. A fetch in progress may first run to its end
   * (see `IngestSource.fetch`): from NATS, up to its `maxWaitMs`. Once an insert failed while
   * stopping, the batch fetched ahead is handed back to the source (`retry`), not inserted: a store
   * down or hanging would hold the stop for its timeouts again. So the stop waits at most for the
   * insert under way (the PostgreSQL store's `queryTimeoutMs`, or `connectTimeoutMs` while it connects).
   */
  stop(): Promise<void>;
}

/**
 * Thrown by a source's `deadLetter` when the dead letter was published but the message not
 * acknowledged (the Kafka source's commit failed): the ingester counts it as dead-lettered and as a
 * failure; the source acknowledges it later (the message does not come back for another try).
 * @internal
 */
export class DeadLetterNotAckedError extends AuditError {
  /** The class name, "DeadLetterNotAckedError", as `String(error)` and logs show it. */
  override name = "DeadLetterNotAckedError";
}

/** A fetched batch, read: its events for the store, their messages, and the undecodable messages. */
interface ReadBatch<M> {
  batch: Batch;
  stored: M[];
  poison: { message: M; reason: string }[];
}

const DEFAULTS = Object.freeze({ batchSize: 2000, maxWaitMs: 1000, retryDelayMs: 1000 });

/** The option names of `IngesterOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({
  source: 1,
  store: 1,
  batchSize: 1,
  maxWaitMs: 1,
  retryDelayMs: 1,
  onError: 1,
} satisfies Record<keyof IngesterOptions<SourceMessage>, 1>);

/**
 * Starts an ingester: it pulls batches of messages from `source`, decodes their events, inserts each
 * batch into `store` (events already there are skipped) and acknowledges the messages only after the
 * insert committed. A batch whose insert fails goes back to the source for redelivery; an undecodable
 * message goes to the dead letters and never blocks the others, as does an event the store refuses
 * alone (PostgreSQL SQLSTATE class 22 or 54, or a month whose partition the store's role may not
 * create: the batch is inserted in halves to find it).
 * Any number of ingesters may share a source's consumer: delivery is at least once, the insert
 * idempotent, so each event is stored once.
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
    lost: source.lost?.(),
  };
  const stopping = new AbortController();
  const report = (error: unknown) => {
    // A throwing handler must not stop ingestion.
    callHook(onError, toError(error));
  };
  const fail = (error: unknown) => {
    stats.errors++;
    report(error);
  };
  let reportedLost = 0;
  /** Reads the source's lost count; reports its growth once (not a failure of this ingester: not in `errors`). */
  const readLost = () => {
    stats.lost = source.lost?.();
    if (stats.lost === undefined || stats.lost <= reportedLost) return;
    report(new Error(lostMessage(source.name, stats.lost - reportedLost, stats.lost)));
    reportedLost = stats.lost;
  };
  const pause = () =>
    new Promise<void>((resolve) => {
      // An abort that came before would never fire the listener.
      if (stopping.signal.aborted) {
        resolve();
        return;
      }
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

  /** The next batch; undefined when the fetch failed (reported). */
  const fetchBatch = async (): Promise<M[] | undefined> => {
    try {
      const messages = await source.fetch(batchSize, maxWaitMs, stopping.signal);
      stats.lag = source.lag();
      readLost();
      return messages;
    } catch (error) {
      fail(error);
      return undefined;
    }
  };

  /**
   * Reads a fetched batch's events into a batch for the store, as soon as the fetch resolves (while
   * the batch before is being inserted). Undecodable messages are set aside: their dead letters go
   * at the batch's turn, since a source may rewind on a failed one (Kafka reads again from the
   * committed offsets), which must not undo the acks of the batch before.
   */
  const readBatch = (messages: M[]): ReadBatch<M> => {
    stats.received += messages.length;
    const batch = createBatch(store);
    const stored: M[] = [];
    const poison: { message: M; reason: string }[] = [];
    for (const message of messages) {
      const reason = batch.add(message);
      if (reason === undefined) stored.push(message);
      else poison.push({ message, reason });
    }
    batch.prepare();
    return { batch, stored, poison };
  };

  /** The next batch, read; undefined when the fetch failed (reported). */
  const nextBatch = async () => {
    const messages = await fetchBatch();
    return messages === undefined ? undefined : readBatch(messages);
  };

  /** Sends a batch's undecodable messages to the dead letters, at the batch's turn (see readBatch). */
  const sendDeadLetters = async (poison: ReadBatch<M>["poison"]) => {
    for (const { message, reason } of poison) {
      try {
        // A copy the dead-letter stream already held was handled before (by this ingester or another
        // one reading the same messages): a duplicate, as an event the store already holds.
        if ((await source.deadLetter(message, reason)) === "duplicate") stats.duplicates++;
        else stats.deadLettered++;
      } catch (error) {
        // Published, not acknowledged: the source acknowledges it later, it does not come back.
        if (error instanceof DeadLetterNotAckedError) stats.deadLettered++;
        fail(error); // else not published: it comes back and is tried again
      }
    }
  };

  const count = (inserted: number, duplicates: number) => {
    stats.inserted += inserted;
    stats.duplicates += duplicates;
  };

  /**
   * Inserts a batch; resolves to the messages to acknowledge, or undefined when the insert failed. A
   * batch the store refuses for some of its rows (`refusesRows`) would fail at every retry: it goes in
   * halves, and the refused messages to the dead letters.
   */
  const storeBatch = async ({ batch, stored }: ReadBatch<M>): Promise<M[] | undefined> => {
    let acked = stored;
    try {
      const inserted = await batch.insert();
      count(inserted, batch.copies + batch.size - inserted);
    } catch (error) {
      try {
        if (!refusesRows(error)) throw error;
        const halves = await insertHalves(store, stored, error, count);
        await sendDeadLetters(halves.refused);
        acked = halves.stored;
      } catch (failure) {
        fail(failure);
        // Halves already stored come back too: the store skips them as duplicates.
        await source.retry(stored).catch(fail);
        return undefined;
      }
    }
    stats.batches++;
    return acked;
  };

  /**
   * Hands the batch fetched ahead back to the source, unstored and undead-lettered, for another
   * ingester to take (an insert failed while stopping: the store is down or hangs, and another try
   * would wait the store's timeouts again, such as `connectTimeoutMs` on a server that accepts
   * connections but never answers, past a supervisor's grace period).
   */
  const handBack = async (ahead: ReturnType<typeof nextBatch>) => {
    const read = await ahead;
    if (read === undefined) return;
    const messages = [...read.stored, ...read.poison.map(({ message }) => message)];
    if (messages.length > 0) await source.retry(messages).catch(fail);
  };

  const done = (async () => {
    let acking = Promise.resolve();
    let fetching: ReturnType<typeof nextBatch> | undefined = nextBatch();
    while (fetching !== undefined) {
      const read = await fetching;
      // The next batch comes in and is read while this one is stored: at most one batch ahead.
      if (stopping.signal.aborted) fetching = undefined;
      else if (read === undefined) fetching = pause().then(nextBatch);
      else fetching = nextBatch();
      if (read === undefined) continue;
      await sendDeadLetters(read.poison);
      if (read.stored.length === 0) continue;
      const stored = await storeBatch(read);
      if (stored === undefined) {
        await pause(); // at once when stopping
        if (stopping.signal.aborted && fetching !== undefined) {
          await handBack(fetching);
          fetching = undefined;
        }
        continue;
      }
      // Committed: the acks go out while the next batch is stored, one batch's at a time. A failed
      // ack only means a redelivery, which the store skips.
      await acking;
      if (stored.length > 0) acking = source.ack(stored).catch(fail);
    }
    await acking;
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

/** The report of messages lost: `more` since the last report, `total` since the source opened. */
function lostMessage(source: string, more: number, total: number): string {
  const what = more === 1 ? "1 message was" : `${more} messages were`;
  const since = total === more ? "" : ` (${total} since start)`;
  return (
    `${source}: ${what} removed by the broker before ingest stored them (retention limits or ` +
    `deletions): their events are lost${since}`
  );
}

function resolveOptions<M extends SourceMessage>(options: IngesterOptions<M>) {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError("ingester: options must be an object");
  rejectUnknownOptions("ingester", options, OPTION_NAMES);
  const { source, store } = options;
  if (typeof source?.fetch !== "function" || typeof source.ack !== "function")
    throw new AuditConfigError("ingester: `source` must be an IngestSource (see createNatsSource)");
  if (typeof store?.insert !== "function")
    throw new AuditConfigError("ingester: `store` must have insert(events), such as the PostgreSQL store");
  const batchSize = options.batchSize ?? DEFAULTS.batchSize;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0)
    throw new AuditConfigError(`ingester: \`batchSize\` must be a positive integer, got ${shown(batchSize)}`);
  if (options.onError !== undefined && typeof options.onError !== "function")
    throw new AuditConfigError("ingester: `onError` must be a function");
  return {
    source,
    store,
    batchSize,
    maxWaitMs: checkTimerMs("ingester: `maxWaitMs`", options.maxWaitMs ?? DEFAULTS.maxWaitMs),
    retryDelayMs: checkTimerMs("ingester: `retryDelayMs`", options.retryDelayMs ?? DEFAULTS.retryDelayMs),
    onError: options.onError ?? (() => {}),
  };
}
