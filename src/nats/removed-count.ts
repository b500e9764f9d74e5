// Messages a JetStream stream removed before its consumer delivered them, seen from one ingester.

/** A consumer's position: its last delivery (consumer sequence) and the stream sequence up to which it had delivered. */
export interface ConsumerPosition {
  /** The consumer's delivery sequence. */
  consumer_seq: number;
  /** The stream sequence of its last first delivery (or, from the consumer's info, up to which it moved). */
  stream_seq: number;
}

import type { Delivery } from "./delivery-info.js";

/**
 * Counts the stream sequences a durable consumer skipped between two consecutive deliveries: the
 * consumer delivers new messages in stream order, so between delivery `d` (stream sequence `s`) and
 * delivery `d + 1`, a first delivery at `s'`, the messages `s + 1` to `s' - 1` were removed before
 * any ingester got them (limits, max_age, deletions, purges). Only the source that receives `d + 1`
 * can count that gap, and it does only when it knows `d`: from its own previous message, or from the
 * consumer's info (at open, after an empty fetch). So several ingesters on one consumer never count
 * a gap twice, and each misses the gaps after the other ingesters' deliveries: the sum over them
 * is at most the truth. Valid only when the consumer sees every subject of the stream (else a gap
 * may be other subjects' messages): the caller checks that.
 * @internal
 */
export function createRemovedCount(start: ConsumerPosition) {
  let removed = 0;
  // The last delivery this source knows of, and the stream sequence up to which the consumer had
  // delivered new messages then; undefined after a redelivery whose predecessor it did not see.
  let knownDelivery: number | undefined = start.consumer_seq;
  let frontier = start.stream_seq;
  return {
    /** Messages counted as removed so far. */
    count: () => removed,
    /** Takes a delivered message's counters in (`deliveryOf`), in the order received. */
    delivered({ deliveryCount, streamSequence, deliverySequence }: Delivery): void {
      const consecutive = knownDelivery === deliverySequence - 1;
      if (deliveryCount === 1) {
        if (consecutive && streamSequence > frontier + 1) removed += streamSequence - frontier - 1;
        frontier = streamSequence;
        knownDelivery = deliverySequence;
      } else {
        // A redelivery leaves the consumer's frontier where it was: known only when its predecessor is.
        knownDelivery = consecutive ? deliverySequence : undefined;
      }
    },
    /**
     * Takes the consumer's info in (after an empty fetch): a newer position replaces the one known.
     * The same delivery keeps this source's own frontier: the server may have moved the consumer's
     * stream sequence past removed messages since, which the next delivery counts.
     */
    position(delivered: ConsumerPosition): void {
      if (knownDelivery === delivered.consumer_seq) return;
      knownDelivery = delivered.consumer_seq;
      frontier = delivered.stream_seq;
    },
  };
}
