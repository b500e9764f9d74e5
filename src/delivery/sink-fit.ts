import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { ResolvedDeliveryOptions } from "./options.js";

/**
 * False when the sink can never take an event of `size` encoded bytes: larger than `maxEventBytes`, or
 * refused by the sink's own check (`acceptsEvent`: a broker's headers). `event` is only read for that
 * check, so a caller holding bytes decodes nothing for a sink without one. A check that throws, or an
 * event that cannot be decoded, lets the event through to the sink.
 * @internal
 */
export function sinkTakes(options: ResolvedDeliveryOptions, event: () => AuditEvent, size: number): boolean {
  if (size > options.maxEventBytes) return false;
  const { sink } = options;
  if (sink.acceptsEvent === undefined) return true;
  try {
    return sink.acceptsEvent(event(), size) !== false;
  } catch {
    return true;
  }
}

/**
 * The smallest encoded size of an event the sink refused as too large when it wrote it (an
 * AuditEventTooLargeError: a limit it learns only then, such as Kafka's `message.max.bytes` or a NATS
 * stream's `max_msg_size`), per pipeline. Emit refuses events of that size or more, as "too_large",
 * so a fail-closed call is answered with the refusal instead of OK for an event dropped after. The
 * bound only goes down.
 * @internal
 */
export class RefusedSizes {
  #smallest = Number.POSITIVE_INFINITY;

  /** True when the sink refused an event of `size` bytes or fewer. */
  refuses(size: number): boolean {
    return size >= this.#smallest;
  }

  /** The sink refused an event of `size` encoded bytes as too large. */
  learn(size: number): void {
    this.#smallest = Math.min(this.#smallest, size);
  }
}
