// BatchTrim: what a write the sink refused in part leaves of its batch (events dropped, events delivered).
import {
  AuditEventRefusedError,
  type AuditEventTooLargeError,
  type AuditPartialDeliveryError,
} from "../errors/index.js";
import type { Batch, QueueBatch } from "./batches.js";
import type { DeliveryCounters, Warnings } from "./delivery-stats.js";
import type { HeldEvents } from "./held-events.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import type { SettleWaiters } from "./settle-waiters.js";
import { sinkTakes } from "./sink-fit.js";
import type { SpoolStage } from "./spool-stage.js";

/** What the batch trim needs of the DeliveryState it is part of. @internal */
export interface BatchTrimHost {
  readonly options: ResolvedDeliveryOptions;
  readonly counters: DeliveryCounters;
  readonly warnings: Warnings;
  readonly held: HeldEvents;
  readonly spooled: SpoolStage | undefined;
  /** The flush and close waiters, checked when events leave. */
  readonly settle: SettleWaiters;
  /** Counts an accepted event that is dropped after all; `warn: false` when the caller reports it. */
  lose(reason: string, kind: number, warn?: boolean): void;
  /** The sink refused an event of `size` encoded bytes as too large: emit refuses that size and more. */
  learnTooLarge(size: number): void;
}

/**
 * The part of DeliveryState, which alone calls it, that cuts a batch after a failed write: the events
 * the sink can never take are dropped, the ones it says it took are delivered, the rest stays.
 * @internal
 */
export class BatchTrim {
  readonly #host: BatchTrimHost;

  constructor(host: BatchTrimHost) {
    this.#host = host;
  }

  /**
   * After a failed write: drops, as "too_large", the events of the batch the sink can never take (its
   * limit may have shrunk since they were accepted, such as a NATS server that came back with a smaller
   * max_payload), so the rest can go. Returns the batch left; the same one when nothing was dropped.
   */
  dropUnsendable(batch: Batch): Batch {
    return this.#drop(
      batch,
      batch.events.map((encoded) => sinkTakes(this.#host.options, () => encoded.event, encoded.bytes.length)),
      "too_large",
    );
  }

  /**
   * After a write the sink refused with an AuditEventTooLargeError ("too_large") or an
   * AuditEventRefusedError ("refused"): drops the events of the batch it names, so the rest can go,
   * and reports them with the sink's message (which says which limit, or why). Only a size refusal
   * teaches emit: the smallest of its events makes it refuse events as large (see
   * DeliveryState.learnTooLarge); a refusal for another reason says nothing of later events.
   * Returns the batch left; the same one when it names none.
   */
  dropNamed(batch: Batch, refusal: AuditEventTooLargeError | AuditEventRefusedError): Batch {
    const named = new Set(refusal.eventIds);
    const takes = batch.events.map((encoded) => !named.has(encoded.event.eventId));
    if (refusal instanceof AuditEventRefusedError) return this.#drop(batch, takes, "refused", refusal);
    const sizes = batch.events.filter((_, i) => !takes[i]).map((encoded) => encoded.bytes.length);
    if (sizes.length > 0) this.#host.learnTooLarge(Math.min(...sizes));
    return this.#drop(batch, takes, "too_large", refusal);
  }

  /**
   * Drops, as `reason`, the events of the batch whose `takes` is false; with the sink's `refusal`,
   * reported once with it instead of as a drop at emit.
   */
  #drop(batch: Batch, takes: readonly boolean[], reason: "too_large" | "refused", refusal?: Error): Batch {
    const dropped = takes.filter((take) => !take).length;
    if (dropped === 0) return batch;
    const warn = refusal === undefined;
    if (!warn) this.#host.warnings.note(`sink_${reason}`, refusal, dropped);
    if (batch.source === "spool") {
      const rows = batch.rows.filter((_, i) => !takes[i]);
      this.#host.spooled?.discard(rows, reason, warn);
    } else {
      batch.kinds.forEach((kind, i) => {
        if (!takes[i]) this.#host.lose(reason, kind, warn);
      });
    }
    return this.#keep(batch, takes);
  }

  /**
   * After a write the sink rejected with an AuditPartialDeliveryError: the events of the batch it
   * names as taken are delivered (they leave memory or the spool and are counted, once), and only the
   * rest stays, to be retried. Returns the batch left; the same one when it names none of them.
   */
  deliverNamed(batch: Batch, partial: AuditPartialDeliveryError): Batch {
    const taken = new Set(partial.deliveredEventIds);
    const rest = batch.events.map((encoded) => !taken.has(encoded.event.eventId));
    const delivered = rest.filter((left) => !left).length;
    if (delivered === 0) return batch;
    if (batch.source === "spool") {
      this.#host.spooled?.remove(batch.rows.filter((_, i) => !rest[i]));
      this.#host.counters.replayed += delivered;
    }
    const left = this.#keep(batch, rest);
    if (batch.source === "queue") this.#host.held.promoteParked();
    this.#host.counters.delivered += delivered;
    this.#host.settle.check();
    return left;
  }

  /** The part of `batch` whose `keeps` is true; for a batch from the queue, it replaces the batch in flight. */
  #keep(batch: Batch, keeps: readonly boolean[]): Batch {
    const kept = <T>(items: readonly T[]) => items.filter((_, i) => keeps[i]);
    const events = kept(batch.events);
    if (batch.source === "spool") return { source: "spool", rows: kept(batch.rows), events };
    const bytes = events.reduce((sum, encoded) => sum + encoded.bytes.length, 0);
    const left: QueueBatch = {
      source: "queue",
      seqs: kept(batch.seqs),
      kinds: kept(batch.kinds),
      events,
      bytes,
    };
    this.#host.held.replaceInFlight(batch, left);
    return left;
  }
}
