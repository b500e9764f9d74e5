import { AuditEmitError, toError } from "../../errors/index.js";
import { decodeEvent, encodeEvent } from "../../event/serialize.js";
import type { AuditEvent } from "../../gen/grpcaudit/v1/event.js";
import { report } from "../emitter.js";
import { retryDelay } from "./backoff.js";
import type { DeliveryState, QueueBatch } from "./delivery-state.js";
import { kindIndexOfName } from "./event-bytes.js";
import type { SpoolRow } from "./spool.js";
import { withTimeout } from "./wakeup.js";

/** A batch read from the spool: its rows are deleted once acknowledged. */
interface SpoolBatch {
  readonly source: "spool";
  readonly rows: SpoolRow[];
  readonly events: AuditEvent[];
}

type Batch = QueueBatch | SpoolBatch;

/**
 * The loop that writes to the sink, one batch at a time so the order is kept: from the spool while it
 * holds rows (always, in write-ahead mode), else from the queue once a batch is full or has waited
 * flushIntervalMs. A failed write is retried with backoff until it succeeds, until the spool takes
 * the batch (after spoolAfterMs / spoolAfterAttempts), or until close() stops the loop.
 * @internal
 */
export class Pump {
  readonly done: Promise<void>;
  readonly #state: DeliveryState;
  readonly #stopping: Promise<void>;
  #resolveStopping: () => void = () => {};
  #stopRequested = false;
  #stopped = false;
  #currentWrite: AbortController | undefined;
  #windowStart: number | undefined;
  #sinkErrors = 0;
  #lastSinkError: Error | undefined;

  constructor(state: DeliveryState) {
    this.#state = state;
    this.#stopping = new Promise((resolve) => {
      this.#resolveStopping = resolve;
    });
    this.done = this.#run();
  }

  /** Failed writes so far. */
  get sinkErrors(): number {
    return this.#sinkErrors;
  }

  get lastSinkError(): Error | undefined {
    return this.#lastSinkError;
  }

  /** Takes no new batch; the one being written may finish. */
  finish(): void {
    this.#stopRequested = true;
    this.#state.wakeup.wake();
  }

  /** Stops now: aborts the write in progress and any retry wait. What is left is close()'s to keep. */
  stop(): void {
    this.finish();
    this.#stopped = true;
    this.#resolveStopping();
    this.#currentWrite?.abort(new Error("the delivery emitter was closed"));
  }

  async #run(): Promise<void> {
    while (!this.#stopRequested) {
      try {
        const batch = await this.#next();
        if (batch !== undefined) await this.#deliver(batch);
      } catch (error) {
        // A bug, not a sink failure (those are handled in #deliver): report it and keep delivering.
        const { name, onError, sleep, retry } = this.#state.options;
        report(onError, new AuditEmitError(name, "delivery loop failed", { cause: toError(error) }));
        await Promise.race([sleep(Math.max(100, retry.initialDelayMs)), this.#stopping]);
      }
    }
  }

  async #next(): Promise<Batch | undefined> {
    const { queue, spool, options, wakeup } = this.#state;
    if (spool !== undefined && this.#state.fromSpool()) {
      const rows = spool.read(options.maxBatchEvents, options.maxBatchBytes);
      const first = rows[0]?.id ?? Number.POSITIVE_INFINITY;
      // Queued events older than the spooled ones go first. They normally move into the spool before
      // it commits newer rows; they stay queued only when the spool has no room for them.
      const head = queue.peekSeq();
      if (head !== undefined && head < first && (rows.length > 0 || !spool.fits(queue.peekSize() ?? 0))) {
        return this.#takeFromQueue(first);
      }
      if (rows.length > 0) return this.#spoolBatch(rows);
      await wakeup.wait(); // nothing committed yet: the next commit wakes the pump
      return undefined;
    }
    if (queue.length === 0) {
      this.#windowStart = undefined;
      await wakeup.wait();
      return undefined;
    }
    if (
      this.#state.urgent === 0 &&
      queue.length < options.maxBatchEvents &&
      queue.bytes < options.maxBatchBytes
    ) {
      this.#windowStart ??= Date.now();
      const wait = this.#windowStart + options.flushIntervalMs - Date.now();
      if (wait > 0) {
        await wakeup.wait(wait);
        return undefined;
      }
    }
    this.#windowStart = undefined;
    return this.#takeFromQueue();
  }

  /** Takes the next batch from the queue, stopping before an event numbered `beforeSeq` or later. */
  #takeFromQueue(beforeSeq = Number.POSITIVE_INFINITY): QueueBatch {
    const { queue, options } = this.#state;
    const batch = {
      source: "queue" as const,
      seqs: [] as number[],
      kinds: [] as number[],
      events: [] as AuditEvent[],
    };
    let bytes = 0;
    for (let size = queue.peekSize(); size !== undefined; size = queue.peekSize()) {
      if (batch.seqs.length === options.maxBatchEvents) break;
      if (batch.seqs.length > 0 && bytes + size > options.maxBatchBytes) break;
      if ((queue.peekSeq() ?? 0) >= beforeSeq) break;
      const event = queue.shift();
      if (event === undefined) break;
      batch.seqs.push(event.seq);
      batch.kinds.push(event.kind);
      // Decoded right away: the queue reuses the storage `event.bytes` points into.
      batch.events.push(decodeEvent(event.bytes));
      bytes += size;
    }
    this.#state.inFlight = { ...batch, bytes };
    return this.#state.inFlight;
  }

  #spoolBatch(rows: SpoolRow[]): SpoolBatch {
    const good: SpoolRow[] = [];
    const events: AuditEvent[] = [];
    const bad: SpoolRow[] = [];
    for (const row of rows) {
      try {
        events.push(decodeEvent(row.bytes));
        good.push(row);
      } catch {
        bad.push(row);
        this.#state.lose("spool_corrupt", kindIndexOfName(row.eventType));
      }
    }
    this.#state.spool?.remove(bad);
    return { source: "spool", rows: good, events };
  }

  async #deliver(batch: Batch): Promise<void> {
    const { options, warnings } = this.#state;
    const startedAt = Date.now();
    let delay = options.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (batch.events.length > 0) await this.#write(batch.events);
        this.#acknowledged(batch);
        return;
      } catch (error) {
        this.#sinkErrors++;
        this.#lastSinkError = toError(error);
        warnings.note("sink_error", error);
        if (this.#stopped) return; // close() keeps what is left
        if (batch.source === "queue" && this.#spillAfterFailure(batch, attempt, startedAt)) return;
        delay = retryDelay(options.retry, attempt, delay, options.random);
        await Promise.race([options.sleep(delay), this.#stopping]);
        if (this.#stopped) return;
        this.#state.counters.retried++;
      }
    }
  }

  /** Writes one batch; a write that does not settle within writeTimeoutMs is aborted and fails. */
  async #write(events: AuditEvent[]): Promise<void> {
    const { sink, writeTimeoutMs } = this.#state.options;
    const controller = new AbortController();
    this.#currentWrite = controller;
    try {
      await withTimeout(
        Promise.resolve().then(() => sink.write(events, { signal: controller.signal })),
        writeTimeoutMs,
        { controller, message: () => `sink write did not settle within ${writeTimeoutMs} ms` },
      );
    } finally {
      this.#currentWrite = undefined;
    }
  }

  #acknowledged(batch: Batch): void {
    const state = this.#state;
    state.sinkDown = false;
    if (batch.source === "queue") {
      state.inFlight = undefined;
      state.promoteParked();
    } else {
      state.spool?.remove(batch.rows);
      state.counters.replayed += batch.events.length;
    }
    state.counters.delivered += batch.events.length;
    state.settled();
  }

  /**
   * After a failed write of a batch from the queue: once the retry budget is spent and the spool can
   * take the whole batch, the sink counts as down and the batch, then the queue, go to the spool.
   */
  #spillAfterFailure(batch: QueueBatch, attempt: number, startedAt: number): boolean {
    const state = this.#state;
    const { spool } = state;
    const config = state.options.spool;
    if (spool === undefined || config === undefined) return false;
    const spent =
      state.sinkDown || attempt >= config.spoolAfterAttempts || Date.now() - startedAt >= config.spoolAfterMs;
    if (!spent || !spool.fits(batch.bytes)) return false;
    state.sinkDown = true;
    state.inFlight = undefined;
    batch.events.forEach((event, i) => {
      spool.append(state.row(batch.seqs[i] ?? 0, batch.kinds[i] ?? 0, encodeEvent(event)));
    });
    state.commitTick();
    return true;
  }
}
