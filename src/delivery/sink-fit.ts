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
