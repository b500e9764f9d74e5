/**
 * Trace and parent span ids read from a W3C `traceparent` header.
 * @internal
 */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
}

// version "00" is exactly this; later versions may append "-..." fields (W3C Trace Context §3.2.4).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;
/** Longer headers are refused unread: a traceparent is 55 characters, later versions a little more. */
const MAX_TRACEPARENT_LENGTH = 512;

/**
 * Parses a W3C `traceparent` header value. Returns undefined for anything malformed: wrong length,
 * upper-case or non-hex digits, the forbidden version "ff", all-zero ids, or extra fields on version 00.
 * @internal
 */
export function parseTraceparent(value: string): TraceContext | undefined {
  if (value.length > MAX_TRACEPARENT_LENGTH) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  if (version === undefined || traceId === undefined || spanId === undefined) return undefined;
  if (version === "ff") return undefined;
  if (version === "00" && rest !== undefined) return undefined;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return undefined;
  return { traceId, spanId };
}
