import type { ActorInput, ResultInput, TargetInput } from "./builders.js";

/**
 * What the Recorder keeps of a result's status message: "omit" keeps nothing (""), "truncate" its
 * first 256 UTF-8 bytes (like every other text field; enough to say what failed, little room for data
 * echoed back), "record" up to the 1024 bytes every event's message is cut to.
 */
export type StatusMessagePolicy = "omit" | "truncate" | "record";

/**
 * Facts every record call may state explicitly: the part of each Recorder input that is not about its
 * kind. Inside an RPC the Recorder takes what is not given from the audit scope; outside one, what is
 * not given stays empty.
 */
export interface RecordContext {
  /** Full gRPC method path. Default: the scope's operation. */
  operation?: string;
  /** Who acted. Default: the scope's actor; anonymous inside an RPC without one; none outside an RPC. */
  actor?: ActorInput;
  /** What was acted on. Default: derived from the record call where it names an object. */
  target?: TargetInput;
  /** How the action ended. Default: derived from the record call. */
  result?: ResultInput;
  /**
   * W3C trace id. Default: the active span's with the Recorder's `traceContext` option, else the
   * scope's, from `traceparent`; empty outside an RPC without an active span. Taken with `spanId`
   * as a pair: given either, the other defaults to empty.
   */
  traceId?: string;
  /**
   * W3C span id. Default: the active span's with the Recorder's `traceContext` option, else the
   * scope's parent span id, from `traceparent`; empty outside an RPC without an active span. Taken
   * with `traceId` as a pair; a span id without a trace id refuses the call as invalid.
   */
  spanId?: string;
  /** Default: the scope's, from `x-request-id` (else generated); empty outside an RPC. */
  requestId?: string;
  /** The caller's address. Default: the scope's; empty outside an RPC. */
  peer?: string;
  /** The caller's user agent. Default: the scope's, from `user-agent`; empty outside an RPC. */
  userAgent?: string;
  /**
   * A finite number >= 0, else the call is refused; more than a protobuf Duration holds
   * (315,576,000,000 s) is clamped to that. Default: time since the RPC started; none outside an RPC.
   */
  durationMs?: number;
  /**
   * A valid Date from 0001-01-01 to 9999-12-31 (UTC), else the call is refused; a time before 1970 is
   * rounded down to its second. Default: the Recorder's clock.
   */
  occurredAt?: Date;
  /**
   * What this event keeps of `result.message`, instead of the Recorder's `statusMessages` option (an
   * audit rule's `statusMessage` arrives here). The Recorder's `redactPatterns` still apply. Any other
   * value refuses the call. Default: the Recorder's `statusMessages`.
   */
  statusMessages?: StatusMessagePolicy;
  /**
   * Free-form facts for the event's `attributes`, merged over those the handler set on the call with
   * `setAuditAttribute` (these win for the same key). Keys: 1 to 64 bytes of printable ASCII; values:
   * strings, redacted with `redactPatterns`, then cut to 256 bytes. At most 16 entries per event: these
   * first, then the call's; entries beyond, and entries with a bad key or a value that is not a string,
   * are dropped and counted (`stats().attributesDropped`). Default: the call's attributes only.
   */
  attributes?: Readonly<Record<string, string>>;
  /** What the event keeps of the call's messages, from payload capture. Default: none. */
  payload?: PayloadInput;
}

/**
 * Most UTF-8 bytes of a redacted message's JSON an event keeps (`request_json`, `response_json`): 2048.
 * Longer JSON is cut on a character boundary and ends with "…[truncated N bytes]".
 */
export const MAX_PAYLOAD_JSON_BYTES = 2048;

/**
 * What an event keeps of its call's messages (`AuditEvent.payload`), as the rules interceptor captures
 * them for a rule with `payload` "digest" or "redacted". Absent strings are empty, counts 0.
 */
export interface PayloadInput {
  /** How the messages were captured. */
  capture: "none" | "digest" | "redacted";
  /** Id of the HMAC key the digests were made with; cut to 256 bytes. */
  keyId?: string;
  /** HMAC-SHA256 of the redacted request messages: 64 lowercase hex digits, or "". */
  requestDigest?: string;
  /** The same of the response messages. */
  responseDigest?: string;
  /** Request messages received: an integer from 0 to 4294967295. */
  requestCount?: number;
  /** Response messages sent: an integer from 0 to 4294967295. */
  responseCount?: number;
  /** The first request message, redacted, as proto3 JSON; cut to MAX_PAYLOAD_JSON_BYTES. */
  requestJson?: string;
  /** The first response message, redacted, as proto3 JSON; cut to MAX_PAYLOAD_JSON_BYTES. */
  responseJson?: string;
}
