import type { EncodedEvent } from "../emitters/sink.js";
import {
  AuditEmitError,
  AuditEventRefusedError,
  AuditEventTooLargeError,
  AuditPartialDeliveryError,
  toError,
} from "../errors/index.js";
import { report } from "../errors/report.js";
import { eventKind } from "../event/kinds.js";
import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { retryDelay } from "./backoff.js";
import type { Batch, QueueBatch, SpoolBatch } from "./batches.js";
import type { DeliveryState } from "./delivery-state.js";
import { LazyEncodedEvent } from "./event-bytes.js";
import { monotonicNow } from "./monotonic-now.js";
import { sinkTakes } from "./sink-fit.js";
import type { SpoolRow } from "./spool.js";
import { unlessAborted } from "./unless-aborted.js";
import { withTimeout } from "./wakeup.js";

/**
 * The event a spool row holds, or undefined when its bytes do not decode to the event the row
 * names (same id, same kind): damaged bytes may still decode, as protobuf is lenient. Decoded here
 * to keep damaged rows from the sink; the event is kept for it.
 */
function spooledEvent(row: SpoolRow): AuditEvent | undefined {
  try {
    const event = decodeEvent(row.bytes);
    const kind = eventKind(event.eventType);
    return event.eventId !== "" && event.eventId === row.eventId && kind === row.eventType
      ? event
      : undefined;
  } catch {
    return undefined;
  }
}

/** Aborts the writes of queue batches when the sink is declared down: they go to the spool too. */
class SinkDownError extends Error {
  override name = "SinkDownError";
}

/**
 * The loop that writes to the sink: from the spool while it holds rows (always, in write-ahead mode),
 * else from the queue once a batch is full or has waited flushIntervalMs. Batches are taken and
 * written in sequence order, up to `maxInFlightBatches` at a time, each leaving the queue or the spool
 * once the sink acknowledged it.
 *
 * A failed write is retried with backoff until it succeeds, until the spool takes the batch (after
 * spoolAfterMs / spoolAfterAttempts, checked again before each retry), or until close() stops the
 * pump. When the spool takes one, the other batches being written from the queue are aborted and
 * follow it. While a batch is failing no new batch starts, and failed batches are retried one at a
 * time, oldest failure first, so an outage never multiplies the writes that fail.
 * @internal
 */
export class Pump {
  readonly done: Promise<void>;
  readonly #state: DeliveryState;
  /** Aborted by stop(): ends the retry waits. */
  readonly #stopping = new AbortController();
  #stopRequested = false;
  #stopped = false;
  /** Batches whose delivery (first write or retries) has not finished. */
  readonly #writing = new Set<Promise<void>>();
  /** Aborts the writes in progress on stop(); those of queue batches also when the sink goes down. */
  readonly #controllers = new Map<AbortController, Batch["source"]>();
  /** Batches waiting to retry or retrying: while any is, no new batch starts. */
  #failing = 0;
  /** The end of the line of failed batches waiting for their turn to retry. */
  #retryLine: Promise<void> = Promise.resolve();
  /** Spool batches being written, and the highest row id they hold: later reads start above it. */
  #spoolWrites = 0;
  #spoolCursor = 0;
  /** Rows older than the cursor were spooled (a failed queue batch): read from the start once idle. */
  #spoolRewind = false;
  /** The last delay before a read the spool refused is tried again. */
  #readDelay = 0;
  #windowStart: number | undefined;
  #sinkErrors = 0;
  #lastSinkError: Error | undefined;

  constructor(state: DeliveryState) {
    this.#state = state;
    this.done = this.#run();
  }

  /** Failed writes so far. */
  get sinkErrors(): number {
    return this.#sinkErrors;
  }

  get lastSinkError(): Error | undefined {
    return this.#lastSinkError;
  }

  /** Takes no new batch; the ones being written may finish. */
  finish(): void {
    this.#stopRequested = true;
    this.#state.wakeup.wake();
  }

  /** Stops now: aborts the writes in progress and any retry wait. What is left is close()'s to keep. */
  stop(): void {
    this.finish();
    this.#stopped = true;
    this.#stopping.abort();
    const error = new Error("the delivery emitter was closed");
    for (const controller of this.#controllers.keys()) controller.abort(error);
  }

  async #run(): Promise<void> {
    const { wakeup, options } = this.#state;
    while (!this.#stopRequested) {
      try {
        // Every batch that settles wakes the pump, so a full window is re-checked then.
        if (this.#failing > 0 || this.#writing.size >= options.maxInFlightBatches) await wakeup.wait();
        else {
          const batch = await this.#next();
          if (batch !== undefined) this.#start(batch);
        }
      } catch (error) {
        // A bug, not a sink failure (those are handled in #deliver): report it and keep delivering.
        const { name, onError, sleep, retry } = options;
        report(onError, new AuditEmitError(name, "delivery loop failed", { cause: toError(error) }));
        await unlessAborted(sleep(Math.max(100, retry.initialDelayMs)), this.#stopping.signal);
      }
    }
    await Promise.all(this.#writing);
  }

  async #next(): Promise<Batch | undefined> {
    const { queue, spool, options, wakeup } = this.#state;
    if (spool !== undefined && this.#state.fromSpool()) {
      if (this.#spoolWrites === 0) {
        this.#spoolCursor = 0;
        this.#spoolRewind = false;
      }
      const rows = this.#spoolRewind
        ? []
        : spool.read(options.maxBatchEvents, options.maxBatchBytes, this.#spoolCursor);
      const first = rows[0]?.id ?? Number.POSITIVE_INFINITY;
      // Queued events older than the spooled ones go first. They normally move into the spool before
      // it commits newer rows; they stay queued only when the spool has no room for them, or takes
      // nothing for a while after a commit failed (full disk): then they go from memory.
      const head = queue.peekSeq();
      if (head !== undefined && head < first && (rows.length > 0 || !spool.fits(queue.peekSize() ?? 0))) {
        return this.#state.takeBatch(first);
      }
      if (rows.length > 0) return this.#spoolBatch(rows);
      if (spool.readFailures > 0) {
        // SQLite refused the read (busy, I/O error): no wake-up may follow, so try again after a delay.
        this.#readDelay = retryDelay(options.retry, spool.readFailures, this.#readDelay, options.random);
        await wakeup.wait(Math.max(1, this.#readDelay));
        return undefined;
      }
      await wakeup.wait(); // nothing committed yet, or a rewind waits for the writes: a wake-up follows
      return undefined;
    }
    if (queue.length === 0) {
      this.#windowStart = undefined;
      await wakeup.wait();
      return undefined;
    }
    if (!this.#state.urgent && queue.length < options.maxBatchEvents && queue.bytes < options.maxBatchBytes) {
      this.#windowStart ??= monotonicNow();
      const wait = this.#windowStart + options.flushIntervalMs - monotonicNow();
      if (wait > 0) {
        await wakeup.wait(wait);
        return undefined;
      }
    }
    this.#windowStart = undefined;
    return this.#state.takeBatch();
  }

  #spoolBatch(rows: SpoolRow[]): SpoolBatch {
    const { options } = this.#state;
    const good: SpoolRow[] = [];
    const events: EncodedEvent[] = [];
    const bad: SpoolRow[] = [];
    const unsendable: SpoolRow[] = [];
    for (const row of rows) {
      const event = spooledEvent(row);
      if (event === undefined) bad.push(row);
      // Checked at emit, but maybe by an earlier process whose sink took more: never retry it for ever.
      else if (!sinkTakes(options, () => event, row.bytes.length)) unsendable.push(row);
      else {
        events.push(new LazyEncodedEvent(row.bytes, event));
        good.push(row);
      }
    }
    this.#state.discardRows(bad, "spool_corrupt");
    this.#state.discardRows(unsendable, "too_large");
    this.#spoolCursor = rows.at(-1)?.id ?? this.#spoolCursor;
    this.#spoolWrites++;
    return { source: "spool", rows: good, events };
  }

  #start(batch: Batch): void {
    const delivery: Promise<void> = this.#deliver(batch)
      .catch((error: unknown) => {
        const { name, onError } = this.#state.options;
        report(onError, new AuditEmitError(name, "delivery failed", { cause: toError(error) }));
      })
      .finally(() => {
        if (batch.source === "spool") this.#spoolWrites--;
        this.#writing.delete(delivery);
        this.#state.wakeup.wake();
      });
    this.#writing.add(delivery);
  }

  async #deliver(taken: Batch): Promise<void> {
    const { options, sinkReports } = this.#state;
    let batch = taken;
    const startedAt = monotonicNow();
    let delay = options.retry.initialDelayMs;
    let failed = false;
    let endTurn: (() => void) | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          if (batch.events.length > 0) {
            await this.#write(batch.events, batch.source);
            sinkReports.succeeded();
          }
          this.#state.markDelivered(batch);
          return;
        } catch (error) {
          // Events the sink says it took are delivered, whatever befell the rest: only the rest is
          // retried, and they are counted once; close() keeps only the rest. A rejection coming after
          // close() aborted the write is not seen: its events count as not delivered (docs/delivery.md).
          if (error instanceof AuditPartialDeliveryError) {
            batch = this.#state.deliverNamed(batch, error);
            if (batch.events.length === 0) continue;
          }
          // Events the sink says it can never take are dropped, and the rest written at once: not a
          // failure of the sink, so no backoff. Only if it named some of them, or it would loop.
          const refusal = error instanceof AuditEventTooLargeError || error instanceof AuditEventRefusedError;
          if (refusal && !this.#stopped) {
            const left = this.#state.dropNamed(batch, error);
            if (left !== batch) {
              batch = left;
              continue;
            }
          }
          // Stopped: the write was aborted by close(), which keeps what is left; not a sink failure.
          if (this.#stopped) return;
          // Aborted as the sink was declared down: not a failure of its own; it follows the queue.
          const down = error instanceof SinkDownError;
          if (down && batch.source === "queue" && this.#spill(batch)) return;
          if (!down) {
            this.#sinkErrors++;
            this.#lastSinkError = toError(error);
            sinkReports.failed(error);
          }
          // The sink's own check may refuse now what it took when checked (a broker whose limit
          // shrank): such an event would fail this batch for ever. maxEventBytes never changes.
          if (this.#state.options.sink.acceptsEvent !== undefined) batch = this.#state.dropUnsendable(batch);
          if (!failed) {
            failed = true;
            this.#failing++;
            endTurn = await unlessAborted(this.#retryTurn(), this.#stopping.signal);
            if (this.#stopped) return;
          }
          if (batch.source === "queue" && this.#spillAfterFailure(batch, attempt, startedAt)) return;
          delay = retryDelay(options.retry, attempt, delay, options.random);
          await unlessAborted(options.sleep(delay), this.#stopping.signal);
          if (this.#stopped) return;
          // The sink may have been declared down, or the budget spent, meanwhile: no write from memory then.
          if (batch.source === "queue" && this.#spillAfterFailure(batch, attempt, startedAt)) return;
          this.#state.countRetry();
        }
      }
    } finally {
      if (failed) this.#failing--;
      endTurn?.();
    }
  }

  /** Waits until the failed batches before this one are through; resolves to the end of this one's turn. */
  #retryTurn(): Promise<() => void> {
    let endTurn: () => void = () => {};
    const turn = new Promise<void>((resolve) => {
      endTurn = resolve;
    });
    const before = this.#retryLine;
    this.#retryLine = before.then(() => turn);
    return before.then(() => endTurn);
  }

  /**
   * Writes one batch, encoded when the sink takes it so; a write that does not settle within
   * writeTimeoutMs is aborted and fails.
   */
  async #write(events: EncodedEvent[], source: Batch["source"]): Promise<void> {
    const { sink, writeTimeoutMs } = this.#state.options;
    const controller = new AbortController();
    this.#controllers.set(controller, source);
    const writeOptions = { signal: controller.signal };
    try {
      await withTimeout(
        Promise.resolve().then(() =>
          sink.writeEncoded === undefined
            ? sink.write(
                events.map((e) => e.event),
                writeOptions,
              )
            : sink.writeEncoded(events, writeOptions),
        ),
        writeTimeoutMs,
        { controller, message: () => `sink write did not settle within ${writeTimeoutMs} ms` },
      );
    } finally {
      this.#controllers.delete(controller);
    }
  }

  /**
   * After a failed write of a batch from the queue: once the retry budget is spent and the spool can
   * take the whole batch, the sink counts as down and the batch, then the queue, go to the spool.
   */
  #spillAfterFailure(batch: QueueBatch, attempt: number, startedAt: number): boolean {
    const state = this.#state;
    const config = state.options.spool;
    if (config === undefined) return false;
    const spent =
      state.sinkDown ||
      attempt >= config.spoolAfterAttempts ||
      monotonicNow() - startedAt >= config.spoolAfterMs;
    return spent && this.#spill(batch);
  }

  /**
   * Moves a failed batch from the queue to the spool, the sink counting as down (the queue follows);
   * false when the spool cannot take it. The other batches being written from memory are aborted and
   * follow it: else a crash would lose them while newer events survive in the spool (a gap mid-chain).
   */
  #spill(batch: QueueBatch): boolean {
    if (!this.#state.spoolFailedBatch(batch)) return false;
    // Spool batches being written read past these rows: start over from the oldest once they settle.
    this.#spoolRewind = true;
    const down = new SinkDownError("the sink is down: the batch goes to the spool");
    for (const [controller, source] of this.#controllers) if (source === "queue") controller.abort(down);
    return true;
  }
}
