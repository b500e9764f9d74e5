import { AuditConfigError, AuditEmitError, toError } from "../../errors/index.js";
import { decodeEvent, encodeEvent } from "../../event/serialize.js";
import type { AuditEvent } from "../../gen/grpcaudit/v1/event.js";
import { type EmitOutcome, type FlushReport, type FlushResult, flushReport, report } from "../emitter.js";
import { retryDelay } from "./backoff.js";
import { DeliveryCounters, type DeliveryStats, Warnings } from "./delivery-stats.js";
import { eventIdOf, KIND_NAMES, kindIndex, kindIndexOfName } from "./event-bytes.js";
import { EventQueue } from "./event-queue.js";
import type { OverflowPolicy, ResolvedDeliveryOptions } from "./options.js";
import { Spool, type SpoolRow } from "./spool.js";
import { TimeoutError, Wakeup, withTimeout } from "./wakeup.js";

/** What `close()` resolves to: the FlushReport fields plus what became of the events it had to drain. */
export interface DeliveryCloseReport extends FlushReport {
  /** Events the sink acknowledged during close. */
  delivered: number;
  /** Events committed to the spool during close (replayed by the next emitter on the same file). */
  spooled: number;
  /** Accepted events dropped during close (no spool, or the spool was full). */
  dropped: number;
}

/** An event of the "block" policy waiting for queue space. */
interface Parked {
  readonly seq: number;
  readonly kind: number;
  readonly bytes: Uint8Array;
  readonly deadline: number;
}

/** A batch taken from memory: still counted in the queue bounds until acknowledged or spooled. */
interface QueueBatch {
  readonly source: "queue";
  readonly seqs: number[];
  readonly kinds: number[];
  readonly events: AuditEvent[];
  readonly bytes: number;
}

/** A batch read from the spool: its rows are deleted once acknowledged. */
interface SpoolBatch {
  readonly source: "spool";
  readonly rows: SpoolRow[];
  readonly events: AuditEvent[];
}

type Batch = QueueBatch | SpoolBatch;

/**
 * The delivery pipeline behind `createDeliveryEmitter`.
 *
 * Every accepted event gets a sequence number (`seq`) that is also its row id if it is spooled, so
 * the spool replays in emit order however events got there. Events live in exactly one place: the
 * in-memory queue, the parked list ("block"), the batch being written, or the spool. One pump loop
 * writes one batch at a time: from the spool while it holds rows (or always, in write-ahead mode),
 * else from the queue. A timer moves queued events into the spool and commits, once per
 * `commitIntervalMs`, whenever the spool is in use.
 * @internal
 */
export class DeliveryPipeline {
  readonly counters: DeliveryCounters;
  readonly #o: ResolvedDeliveryOptions;
  readonly #queue: EventQueue;
  readonly #parked: Parked[] = [];
  readonly #spool: Spool | undefined;
  readonly #warnings: Warnings;
  readonly #wakeup = new Wakeup();
  readonly #settleWaiters = new Set<() => void>();
  readonly #stopping: Promise<void>;
  readonly #pumpDone: Promise<void>;
  #resolveStopping: () => void = () => {};
  #lastSeq = 0;
  #inFlight: QueueBatch | undefined;
  #currentWrite: AbortController | undefined;
  #windowStart: number | undefined;
  /** flush() or close() calls in progress: batches go out without waiting for flushIntervalMs. */
  #urgent = 0;
  #sinkDown = false;
  #sinkErrors = 0;
  #lastSinkError: Error | undefined;
  #settleCheckQueued = false;
  #closed = false;
  #stopRequested = false;
  #stopped = false;
  #closing: Promise<DeliveryCloseReport> | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #parkTimer: NodeJS.Timeout | undefined;

  constructor(options: ResolvedDeliveryOptions) {
    this.#o = options;
    this.counters = new DeliveryCounters(options.name);
    this.#warnings = new Warnings(options.name, options.warnIntervalMs, options.onError);
    for (const warning of options.warnings) {
      report(options.onError, new AuditConfigError(`delivery emitter: ${warning}`));
    }
    // Chunks of 1/64 of the queue bound keep the memory held beyond maxQueueBytes to a few percent.
    this.#queue = new EventQueue(Math.min(1 << 20, Math.max(1 << 14, Math.ceil(options.maxQueueBytes / 64))));
    this.#spool = this.#openSpool();
    this.#lastSeq = this.#spool?.maxId ?? 0;
    this.#stopping = new Promise((resolve) => {
      this.#resolveStopping = resolve;
    });
    if (this.#spool !== undefined && options.spool !== undefined) {
      this.#commitTimer = setInterval(() => this.#commitTick(), options.spool.commitIntervalMs);
      this.#commitTimer.unref();
    }
    this.#pumpDone = this.#run();
  }

  // ---- intake: emit never waits and never throws ----

  emit(event: AuditEvent): EmitOutcome {
    let kind = 0;
    let bytes: Uint8Array;
    try {
      kind = kindIndex(event.eventType);
      if (this.#closed) return this.counters.dropEvent("closed", kind, false);
      bytes = encodeEvent(event);
    } catch (error) {
      this.counters.failed++;
      report(
        this.#o.onError,
        new AuditEmitError(this.#o.name, "event cannot be encoded", { cause: toError(error) }),
      );
      return "failed";
    }
    if (bytes.length > this.#o.maxEventBytes) return this.#refuse("too_large", kind);
    const policy = this.#o.policies[kind] ?? "drop-newest";
    if (policy === "block" && this.#parked.length > 0) this.#promoteParked();
    if ((policy !== "block" || this.#parked.length === 0) && this.#fits(bytes.length)) {
      this.#enqueue(++this.#lastSeq, kind, bytes);
      return this.#accept();
    }
    return this.#overflow(policy, kind, bytes);
  }

  #overflow(policy: OverflowPolicy, kind: number, bytes: Uint8Array): EmitOutcome {
    switch (policy) {
      case "drop-newest":
        return this.#refuse("queue_full", kind);
      case "drop-oldest":
        return this.#evictFor(kind, bytes);
      case "block":
        if (this.#parked.length >= this.#o.block.maxParked) return this.#refuse("parked_full", kind);
        this.#parked.push({
          seq: ++this.#lastSeq,
          kind,
          bytes,
          deadline: Date.now() + this.#o.block.timeoutMs,
        });
        this.#scheduleParkExpiry();
        return this.#accept();
      case "spool":
        return this.#spoolDirectly(kind, bytes);
      case "fail-rpc":
        this.counters.failed++;
        this.#warnings.note("fail_rpc");
        return "failed";
    }
  }

  #accept(): "accepted" {
    this.counters.emitted++;
    return "accepted";
  }

  #refuse(reason: string, kind: number): "dropped" {
    this.#warnings.note(reason);
    return this.counters.dropEvent(reason, kind, false);
  }

  /** Drops an event emit had accepted. */
  #lose(reason: string, kind: number): void {
    this.#warnings.note(reason);
    this.counters.dropEvent(reason, kind, true);
    this.#settled();
  }

  #evictFor(kind: number, bytes: Uint8Array): EmitOutcome {
    while (!this.#fits(bytes.length)) {
      const oldest = this.#queue.shift();
      // Only the batch being written is left: it cannot be taken back, so the new event goes instead.
      if (oldest === undefined) return this.#refuse("queue_full", kind);
      this.#lose("queue_full", oldest.kind);
    }
    this.#enqueue(++this.#lastSeq, kind, bytes);
    return this.#accept();
  }

  #spoolDirectly(kind: number, bytes: Uint8Array): EmitOutcome {
    const spool = this.#spool;
    const row = {
      id: this.#lastSeq + 1,
      eventId: eventIdOf(bytes),
      eventType: KIND_NAMES[kind] ?? "",
      bytes,
    };
    if (spool === undefined || !spool.append(row)) return this.#refuse("spool_full", kind);
    this.#lastSeq = row.id;
    return this.#accept();
  }

  /** True when one more event of `size` bytes fits the memory bounds (the batch being written included). */
  #fits(size: number): boolean {
    const inFlight = this.#inFlight;
    const events = this.#queue.length + (inFlight?.seqs.length ?? 0);
    const bytes = this.#queue.bytes + (inFlight?.bytes ?? 0);
    return events < this.#o.maxQueueEvents && bytes + size <= this.#o.maxQueueBytes;
  }

  #enqueue(seq: number, kind: number, bytes: Uint8Array): void {
    this.#queue.push(seq, kind, bytes);
    const { length, bytes: queued } = this.#queue;
    const { maxBatchEvents, maxBatchBytes } = this.#o;
    // Wake the pump only when it has something new to decide: a first event, or a full batch.
    if (
      length === 1 ||
      length === maxBatchEvents ||
      (queued >= maxBatchBytes && queued - bytes.length < maxBatchBytes)
    ) {
      this.#wakeup.wake();
    }
  }

  #promoteParked(): void {
    for (
      let head = this.#parked[0];
      head !== undefined && this.#fits(head.bytes.length);
      head = this.#parked[0]
    ) {
      this.#parked.shift();
      this.#enqueue(head.seq, head.kind, head.bytes);
    }
  }

  #scheduleParkExpiry(): void {
    const head = this.#parked[0];
    if (this.#parkTimer !== undefined || head === undefined) return;
    this.#parkTimer = setTimeout(
      () => {
        this.#parkTimer = undefined;
        this.#promoteParked();
        const now = Date.now();
        for (let p = this.#parked[0]; p !== undefined && p.deadline <= now; p = this.#parked[0]) {
          this.#parked.shift();
          this.#lose("block_timeout", p.kind);
        }
        if (!this.#stopped) this.#scheduleParkExpiry();
      },
      Math.max(0, head.deadline - Date.now()),
    );
    this.#parkTimer.unref();
  }

  // ---- the pump: one batch in flight, retried until acknowledged, spooled or closed ----

  async #run(): Promise<void> {
    while (!this.#stopRequested) {
      try {
        const batch = await this.#next();
        if (batch !== undefined) await this.#deliver(batch);
      } catch (error) {
        // A bug, not a sink failure (those are handled in #deliver): report it and keep delivering.
        report(
          this.#o.onError,
          new AuditEmitError(this.#o.name, "delivery loop failed", { cause: toError(error) }),
        );
        await Promise.race([this.#o.sleep(Math.max(100, this.#o.retry.initialDelayMs)), this.#stopping]);
      }
    }
  }

  /** True while batches come from the spool: write-ahead mode, or rows waiting (replay, outage, overflow). */
  #fromSpool(): boolean {
    const spool = this.#spool;
    if (spool === undefined) return false;
    return this.#o.spool?.writeAhead === true || spool.rows + spool.pendingRows > 0;
  }

  async #next(): Promise<Batch | undefined> {
    const spool = this.#spool;
    if (spool !== undefined && this.#fromSpool()) {
      const rows = spool.read(this.#o.maxBatchEvents, this.#o.maxBatchBytes);
      const first = rows[0]?.id ?? Number.POSITIVE_INFINITY;
      // Queued events older than the spooled ones go first. They normally move into the spool before
      // it commits newer rows; they stay queued only when the spool has no room for them.
      const head = this.#queue.peekSeq();
      if (
        head !== undefined &&
        head < first &&
        (rows.length > 0 || !spool.fits(this.#queue.peekSize() ?? 0))
      ) {
        return this.#takeFromQueue(first);
      }
      if (rows.length > 0) return this.#spoolBatch(rows);
      // Nothing committed yet: the next commit wakes the pump.
      await this.#wakeup.wait();
      return undefined;
    }
    const queue = this.#queue;
    if (queue.length === 0) {
      this.#windowStart = undefined;
      await this.#wakeup.wait();
      return undefined;
    }
    if (this.#urgent === 0 && queue.length < this.#o.maxBatchEvents && queue.bytes < this.#o.maxBatchBytes) {
      this.#windowStart ??= Date.now();
      const wait = this.#windowStart + this.#o.flushIntervalMs - Date.now();
      if (wait > 0) {
        await this.#wakeup.wait(wait);
        return undefined;
      }
    }
    this.#windowStart = undefined;
    return this.#takeFromQueue();
  }

  /** Takes the next batch from the queue, stopping before an event numbered `beforeSeq` or later. */
  #takeFromQueue(beforeSeq = Number.POSITIVE_INFINITY): QueueBatch {
    const batch: QueueBatch = { source: "queue", seqs: [], kinds: [], events: [], bytes: 0 };
    let bytes = 0;
    for (let size = this.#queue.peekSize(); size !== undefined; size = this.#queue.peekSize()) {
      if (batch.seqs.length === this.#o.maxBatchEvents) break;
      if (batch.seqs.length > 0 && bytes + size > this.#o.maxBatchBytes) break;
      if ((this.#queue.peekSeq() ?? 0) >= beforeSeq) break;
      const event = this.#queue.shift();
      if (event === undefined) break;
      batch.seqs.push(event.seq);
      batch.kinds.push(event.kind);
      batch.events.push(decodeEvent(event.bytes));
      bytes += size;
    }
    this.#inFlight = { ...batch, bytes };
    return this.#inFlight;
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
        this.#lose("spool_corrupt", kindIndexOfName(row.eventType));
      }
    }
    this.#spool?.remove(bad);
    return { source: "spool", rows: good, events };
  }

  async #deliver(batch: Batch): Promise<void> {
    const startedAt = Date.now();
    let delay = this.#o.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (batch.events.length > 0) await this.#write(batch.events);
        this.#acknowledged(batch);
        return;
      } catch (error) {
        this.#sinkErrors++;
        this.#lastSinkError = toError(error);
        this.#warnings.note("sink_error", error);
        if (this.#stopped) return; // close() takes over what is left
        if (batch.source === "queue" && this.#spillAfterFailure(batch, attempt, startedAt)) return;
        delay = retryDelay(this.#o.retry, attempt, delay, this.#o.random);
        await Promise.race([this.#o.sleep(delay), this.#stopping]);
        if (this.#stopped) return;
        this.counters.retried++;
      }
    }
  }

  /** Writes one batch; a write that does not settle within writeTimeoutMs is aborted and fails. */
  async #write(events: AuditEvent[]): Promise<void> {
    const controller = new AbortController();
    this.#currentWrite = controller;
    try {
      const sink = this.#o.sink;
      await withTimeout(
        Promise.resolve().then(() => sink.write(events, { signal: controller.signal })),
        this.#o.writeTimeoutMs,
        controller,
        () => `sink write did not settle within ${this.#o.writeTimeoutMs} ms`,
      );
    } finally {
      this.#currentWrite = undefined;
    }
  }

  #acknowledged(batch: Batch): void {
    this.#sinkDown = false;
    if (batch.source === "queue") {
      this.#inFlight = undefined;
      this.#promoteParked();
    } else {
      this.#spool?.remove(batch.rows);
      this.counters.replayed += batch.events.length;
    }
    this.counters.delivered += batch.events.length;
    this.#settled();
  }

  /**
   * After a failed write of a batch from memory: once the retry budget is spent and the spool can
   * take the whole batch, the sink counts as down and the batch, then the queue, go to the spool.
   */
  #spillAfterFailure(batch: QueueBatch, attempt: number, startedAt: number): boolean {
    const spool = this.#spool;
    const config = this.#o.spool;
    if (spool === undefined || config === undefined) return false;
    const spent =
      this.#sinkDown || attempt >= config.spoolAfterAttempts || Date.now() - startedAt >= config.spoolAfterMs;
    if (!spent || !spool.fits(batch.bytes)) return false;
    this.#sinkDown = true;
    this.#inFlight = undefined;
    batch.events.forEach((event, i) => {
      const bytes = encodeEvent(event);
      spool.append({
        id: batch.seqs[i] ?? 0,
        eventId: event.eventId,
        eventType: kindName(batch.kinds[i]),
        bytes,
      });
    });
    this.#commitTick();
    return true;
  }

  // ---- the spool's group commit ----

  #openSpool(): Spool | undefined {
    const config = this.#o.spool;
    if (config === undefined) return undefined;
    try {
      return new Spool({
        path: config.path,
        maxBytes: config.maxBytes,
        synchronous: config.synchronous,
        name: this.#o.name,
        onError: (error) => report(this.#o.onError, error),
      });
    } catch (error) {
      if (error instanceof AuditConfigError) throw error;
      throw new AuditConfigError(
        `delivery emitter: cannot open spool.path ${config.path}: ${toError(error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Moves queued events into the spool when it is in use, then commits in one transaction. */
  #commitTick(): void {
    const spool = this.#spool;
    if (spool === undefined) return;
    if (this.#sinkDown || this.#fromSpool()) {
      for (
        let size = this.#queue.peekSize();
        size !== undefined && spool.fits(size);
        size = this.#queue.peekSize()
      ) {
        const event = this.#queue.shift();
        if (event === undefined) break;
        // The queue reuses its storage: the spool keeps a copy until the commit.
        const bytes = event.bytes.slice();
        spool.append({ id: event.seq, eventId: eventIdOf(bytes), eventType: kindName(event.kind), bytes });
      }
      this.#promoteParked();
    }
    const committed = spool.commit();
    if (committed > 0) {
      this.counters.spooled += committed;
      this.#wakeup.wake();
      this.#settled();
    }
  }

  // ---- flush, close, stats ----

  /** Smallest sequence number not yet delivered, spooled or dropped (Infinity when none). */
  #minUnsettled(): number {
    let min = Math.min(this.#queue.minSeq(), this.#parked[0]?.seq ?? Number.POSITIVE_INFINITY);
    for (const seq of this.#inFlight?.seqs ?? []) min = Math.min(min, seq);
    return Math.min(min, this.#spool?.minPendingId() ?? Number.POSITIVE_INFINITY);
  }

  /** Something left the pipeline: re-check flush and close waiters once, after the current task. */
  #settled(): void {
    if (this.#settleWaiters.size === 0 || this.#settleCheckQueued) return;
    this.#settleCheckQueued = true;
    queueMicrotask(() => {
      this.#settleCheckQueued = false;
      for (const check of [...this.#settleWaiters]) check();
    });
  }

  /** Resolves true once every event up to `seq` has left the pipeline, false after `timeoutMs`. */
  #waitSettled(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.#minUnsettled() > seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#settleWaiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.#minUnsettled() > seq) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref();
      this.#settleWaiters.add(check);
    });
  }

  async flush(timeoutMs = this.#o.flushTimeoutMs): Promise<FlushReport> {
    const target = this.#lastSeq;
    const errorsBefore = this.#sinkErrors;
    this.#urgent++;
    try {
      this.#wakeup.wake();
      this.#commitTick();
      if (await this.#waitSettled(target, timeoutMs)) return flushReport(this.#o.name);
    } finally {
      this.#urgent--;
    }
    if (this.#sinkErrors === errorsBefore) {
      return { ok: false, results: [{ emitter: this.#o.name, status: "timeout" }] };
    }
    return flushReport(
      this.#o.name,
      new AuditEmitError(this.#o.name, `flush did not finish within ${timeoutMs} ms: the sink is failing`, {
        cause: this.#lastSinkError,
      }),
    );
  }

  close(timeoutMs = this.#o.closeTimeoutMs): Promise<DeliveryCloseReport> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<DeliveryCloseReport> {
    this.#closed = true;
    const before = {
      delivered: this.counters.delivered,
      spooled: this.counters.spooled,
      lost: this.counters.lost,
    };
    const deadline = Date.now() + timeoutMs;
    const target = this.#lastSeq;
    this.#urgent++;
    this.#wakeup.wake();
    this.#commitTick();
    await this.#waitSettled(target, timeoutMs);
    // Take no new batch, let the one being written finish until the deadline, then abort it.
    this.#stopRequested = true;
    this.#wakeup.wake();
    await withTimeout(this.#pumpDone, deadline - Date.now()).catch(() => {});
    this.#stopped = true;
    this.#resolveStopping();
    this.#currentWrite?.abort(new Error("the delivery emitter was closed"));
    await this.#pumpDone;
    clearInterval(this.#commitTimer);
    clearTimeout(this.#parkTimer);
    this.#keepLeftovers();
    this.#spool?.close();
    const sink = await this.#closeSink(Math.max(deadline - Date.now(), Math.min(1000, timeoutMs)));
    const dropped = this.counters.lost - before.lost;
    // Events left to drop mean the drain did not finish in time (spooled ones are safe).
    const result: FlushResult =
      sink.status === "ok" && dropped > 0 ? { emitter: sink.emitter, status: "timeout" } : sink;
    return {
      ok: result.status === "ok",
      results: [result],
      delivered: this.counters.delivered - before.delivered,
      spooled: this.counters.spooled - before.spooled,
      dropped,
    };
  }

  /** What close() could not deliver goes to the spool in sequence order, or is dropped and counted. */
  #keepLeftovers(): void {
    const left: { seq: number; kind: number; bytes: Uint8Array; eventId?: string }[] = [];
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    inFlight?.events.forEach((event, i) => {
      left.push({ seq: inFlight.seqs[i] ?? 0, kind: inFlight.kinds[i] ?? 0, bytes: encodeEvent(event) });
    });
    for (let event = this.#queue.shift(); event !== undefined; event = this.#queue.shift()) {
      left.push({ seq: event.seq, kind: event.kind, bytes: event.bytes.slice() });
    }
    left.push(...this.#parked.splice(0));
    const spool = this.#spool;
    for (const event of left) {
      const row = {
        id: event.seq,
        eventId: eventIdOf(event.bytes),
        eventType: kindName(event.kind),
        bytes: event.bytes,
      };
      if (spool === undefined) this.#lose("close_timeout", event.kind);
      else if (!spool.append(row)) this.#lose("spool_full", event.kind);
    }
    if (spool === undefined) return;
    this.counters.spooled += spool.commit();
    for (const row of spool.discardPending()) this.#lose("spool_error", kindIndexOfName(row.eventType));
  }

  async #closeSink(timeoutMs: number): Promise<FlushResult> {
    const { sink, name } = this.#o;
    if (typeof sink.close !== "function") return { emitter: name, status: "ok" };
    try {
      await withTimeout(
        Promise.resolve().then(() => sink.close?.()),
        timeoutMs,
      );
      return { emitter: name, status: "ok" };
    } catch (error) {
      if (error instanceof TimeoutError) return { emitter: name, status: "timeout" };
      return {
        emitter: name,
        status: "error",
        error: new AuditEmitError(name, "sink close failed", { cause: toError(error) }),
      };
    }
  }

  stats(): DeliveryStats {
    const c = this.counters;
    const inFlight = this.#inFlight;
    const spool = this.#spool;
    return {
      ...c.snapshot(),
      accepted: c.emitted,
      delivered: c.delivered,
      replayed: c.replayed,
      retried: c.retried,
      spooled: c.spooled,
      droppedByKind: { ...c.droppedByKind },
      queueEvents: this.#queue.length + (inFlight?.seqs.length ?? 0),
      queueBytes: this.#queue.bytes + (inFlight?.bytes ?? 0),
      parkedEvents: this.#parked.length,
      spoolEvents: spool === undefined ? 0 : spool.rows + spool.pendingRows,
      spoolBytes: spool?.bytes ?? 0,
      mode: this.#fromSpool() ? "spool" : "direct",
    };
  }
}

function kindName(kind: number | undefined): string {
  return KIND_NAMES[kind ?? 0] ?? "unspecified";
}
