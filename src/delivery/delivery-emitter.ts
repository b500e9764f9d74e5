import type { Emitter } from "../emitters/emitter.js";
import { AuditInputError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import type { DeliveryStats } from "./delivery-stats.js";
import type { DeliveryEmitterOptions, ResolvedDeliveryOptions } from "./options.js";
import { type DeliveryCloseReport, type DeliveryFlushReport, DeliveryPipeline } from "./pipeline.js";
import { resolveDeliveryOptions } from "./resolve-options.js";

/** An Emitter that delivers through a bounded queue, batching, retry and an optional durable spool. */
export interface DeliveryEmitter extends Emitter {
  /** A copy of the emitter's counters with the pipeline's: delivered, retried, queue and spool sizes. */
  stats(): DeliveryStats;
  /**
   * Resolves once every event accepted before the call was delivered (the sink acknowledged it) or
   * dropped (and counted); in write-ahead mode it commits them to the spool at once, too. ok only when
   * no accepted event was dropped meanwhile: else "error", its error naming each reason and count
   * ("flush dropped 1 event (too_large 1)"). After `timeoutMs` (default: the `flushTimeoutMs` option,
   * 30000) it reports ok: false, "timeout" (or "error" with the sink's last error when the sink kept
   * failing), with an error naming the drops if any, and `pending`, the number of those events still
   * in memory or in the spool. Once `close()` is done it answers at once, counting what
   * close left in the spool file as pending. Rejects with an AuditInputError for a `timeoutMs` that is
   * not a number ≥ 0, or options that are not an object.
   */
  flush(options?: { timeoutMs?: number }): Promise<DeliveryFlushReport>;
  /**
   * Stops accepting (later emits are dropped as "closed"), drains for up to `timeoutMs` (default: the
   * `closeTimeoutMs` option, 30000), then commits what is left to the spool, or without a spool drops
   * and counts it ("close_timeout"); closes the spool and then the sink. ok only when nothing was
   * dropped and nothing is left: `pending` is the number of rows left in the spool file (replayed by
   * the next emitter on it); DeliveryCloseReport says what its status and error tell. Never rejects: a
   * negative `timeoutMs` waits for nothing, and one that is not a number (or options that are no
   * object, such as the signal name `process.once("SIGTERM", emitter.close)` passes) counts as not
   * given. Calling it again returns the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<DeliveryCloseReport>;
}

/**
 * Creates an emitter that delivers events to an EventSink without ever making the caller wait.
 *
 * `emit` encodes the event (its protobuf size is what the byte bounds count) and queues it; a pump
 * writes batches of up to `maxBatchEvents` / `maxBatchBytes`, or whatever is queued after
 * `flushIntervalMs`, in sequence order: one batch at a time, so the order is kept, or up to
 * `maxInFlightBatches` at once (see that option for the order after a failure). A failed write is
 * retried with exponential backoff and jitter, forever unless a spool takes over or close() gives
 * up. When the queue is full, the overflow policy of the event's kind decides (see OverflowPolicy).
 * A sink with `writeEncoded` gets the queued protobuf bytes, decoded only if it asks.
 *
 * With `spool`, events survive a sink outage and a restart: once a batch has failed for
 * `spoolAfterMs` the queue goes to a SQLite file (group commit every `commitIntervalMs`), which is
 * replayed in order when the sink answers again, and by the next emitter that opens the file. Rows are
 * deleted only after the sink acknowledged them. With `writeAhead`, every event is committed before
 * it is delivered, so a crash loses at most the events accepted since the last commit: never more
 * than `maxUncommittedEvents` (1000). A spool has one owner: the file is locked while the emitter
 * has it open. A damaged spool is moved aside and what can still be read of it is replayed; what was
 * lost is counted (`stats().spoolRecovery`) and reported.
 *
 * Delivery is at-least-once: a batch whose write failed or timed out may have reached the sink, and
 * is written again; consumers de-duplicate by event id.
 *
 * A process that ends without `close()` (main returns, `process.exit()`) does not lose what is
 * queued unseen: at its "exit" event, synchronously, what memory holds (the batches being written
 * included) is committed to the spool, replayed by the next emitter on it, or without a spool (or
 * room in it) dropped as "exit" and reported once to onError. The sink is not closed then.
 *
 * Throws an AuditConfigError naming the option when an option is invalid or the spool file cannot be
 * opened (a file that is not a usable spool is moved aside and reported instead), and naming the
 * path and the holder's pid when another emitter, in this process or another, has the spool open.
 *
 * ```ts
 * const store = openAuditStore({ path: "/var/lib/my-service/audit.db" }); // from grpc-audit/store
 * const emitter = createDeliveryEmitter({
 *   sink: store.sink(),
 *   overflow: { default: "drop-newest", "authz.decision": "spool" },
 *   spool: { path: "/var/lib/my-service/audit-spool.db" },
 * });
 * const recorder = createRecorder({ service: "projects", emitters: [emitter] });
 * ```
 */
export function createDeliveryEmitter(options: DeliveryEmitterOptions): DeliveryEmitter {
  return deliveryEmitterOf(resolveDeliveryOptions(options));
}

/**
 * The delivery emitter of options already resolved: for an emitter that checks its pipeline's options
 * itself, naming them as its caller wrote them (the broker emitter's `delivery.maxQueueEvents`). @internal
 */
export function deliveryEmitterOf(resolved: ResolvedDeliveryOptions): DeliveryEmitter {
  const pipeline = new DeliveryPipeline(resolved);
  return {
    name: resolved.name,
    emit: (event) => pipeline.emit(event),
    flush: (flushOptions) => withTimeout(resolved.name, "flush", flushOptions, (t) => pipeline.flush(t)),
    close: (closeOptions) => pipeline.close(closeTimeout(closeOptions)),
    stats: () => pipeline.stats(),
  };
}

/**
 * The `timeoutMs` a close waits: never a reason not to close, which would lose what is queued (a
 * deadline already past asks for no wait; anything but a number counts as none given).
 */
function closeTimeout(options: unknown): number | undefined {
  const timeoutMs =
    typeof options === "object" && options !== null
      ? (options as { timeoutMs?: unknown }).timeoutMs
      : undefined;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs)) return undefined;
  return Math.max(0, timeoutMs);
}

/**
 * Runs `run` with the flush's `timeoutMs`, or rejects with an AuditInputError when it is not a number
 * of ms ≥ 0: a negative, NaN or string timeout used to be taken as "no wait" or ignored.
 */
function withTimeout<R>(
  name: string,
  call: "flush",
  options: { timeoutMs?: number } | undefined,
  run: (timeoutMs: number | undefined) => Promise<R>,
): Promise<R> {
  if (options !== undefined && (typeof options !== "object" || options === null))
    return Promise.reject(
      new AuditInputError(`${name}: ${call}'s options must be an object, got ${shown(options)}`),
    );
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs >= 0))
    return Promise.reject(
      new AuditInputError(
        `${name}: ${call}'s \`timeoutMs\` must be a number of ms ≥ 0, got ${shown(timeoutMs)}`,
      ),
    );
  return run(timeoutMs);
}
