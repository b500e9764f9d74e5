import type { AuditScope } from "../context/scope.js";

/** What the rules interceptor reads of a call's HTTP/2 stream: whether and how it closed. */
export interface CallStream {
  /** True once the stream closed; `rstCode` is then final. */
  readonly closed: boolean;
  /** The RST_STREAM code it closed with: 0 when both sides ended it normally. */
  readonly rstCode: number;
  once(event: "close", listener: () => void): unknown;
}

/** The HTTP/2 stream of each request-streaming call, by the call's scope. */
const streams = new WeakMap<AuditScope, CallStream>();

/**
 * Notes the HTTP/2 stream of the call grpc-js hands the first interceptor. grpc-js keeps it in a
 * private field (`stream` of its BaseServerInterceptingCall, 1.14): when that is gone or is not a
 * stream (an interceptor of your own placed before the audit chain, another grpc-js), nothing is noted.
 * @internal
 */
export function noteCallStream(scope: AuditScope, call: unknown): void {
  const stream: unknown = (call as { stream?: unknown }).stream;
  if (
    typeof stream === "object" &&
    stream !== null &&
    typeof (stream as CallStream).closed === "boolean" &&
    typeof (stream as CallStream).rstCode === "number" &&
    typeof (stream as CallStream).once === "function"
  ) {
    streams.set(scope, stream as CallStream);
  }
}

/** The HTTP/2 stream of the call of `scope`, when it was noted. @internal */
export function callStreamOf(scope: AuditScope | undefined): CallStream | undefined {
  return scope === undefined ? undefined : streams.get(scope);
}
