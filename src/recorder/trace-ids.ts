import { AuditError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";

/** The trace and span id of the span active where an event is recorded (W3C, lowercase hex). */
export interface TraceIds {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
}

const TRACE_ID = /^(?!0+$)[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0+$)[0-9a-f]{16}$/;

/**
 * Wraps a `traceContext` option so it never throws into a record call: a reader that throws, or
 * returns anything but valid W3C ids, counts as "no active span" (the event then takes the
 * `traceparent` ids). The first throw is reported to `onError`.
 * @internal
 */
export function safeTraceReader(
  read: (() => TraceIds | undefined) | undefined,
  onError: ((error: Error) => void) | undefined,
): () => TraceIds | undefined {
  if (read === undefined) return () => undefined;
  let reported = false;
  return () => {
    let ids: unknown;
    try {
      ids = read();
    } catch (error) {
      if (!reported) {
        reported = true;
        report(onError, new AuditError("recorder: traceContext() threw", { cause: toError(error) }));
      }
      return undefined;
    }
    if (typeof ids !== "object" || ids === null) return undefined;
    const { traceId, spanId } = ids as Partial<Record<keyof TraceIds, unknown>>;
    if (typeof traceId !== "string" || typeof spanId !== "string") return undefined;
    return TRACE_ID.test(traceId) && SPAN_ID.test(spanId) ? { traceId, spanId } : undefined;
  };
}
