import type { AuditScope } from "../context/scope.js";

/** What the rules interceptor reads of a call's HTTP/2 stream: whether and how it closed. */
export interface CallStream {
  /** True once the stream closed; `rstCode` is then final. */
  readonly closed: boolean;
  /**
   * The RST_STREAM code it closed with: 0 when both sides ended it normally, and also when the client
   * reset it with NO_ERROR after the server's status went out (Node reports the two alike).
   */
  readonly rstCode: number;
  once(event: "close", listener: () => void): unknown;
}

/** What `noteCallStream` needs to end a reset call at once: Node's Http2Stream. */
interface ResettableStream {
  readonly destroyed: boolean;
  destroy(): unknown;
  on(event: "aborted", listener: (this: ResettableStream) => void): unknown;
}

/** The HTTP/2 stream of each call, by the call's scope. */
const streams = new WeakMap<AuditScope, CallStream>();

/**
 * Notes the HTTP/2 stream of the call grpc-js hands the first interceptor, and makes a client's reset
 * of it end the call at once, whatever its code; keeps it for `callStreamOf`.
 * grpc-js keeps it in a private field (`stream` of its BaseServerInterceptingCall, 1.14), which the scope
 * interceptor finds below interceptors of your own placed before the audit chain (`watchOwnStatuses`):
 * when that is gone or is not a stream (another grpc-js), nothing is noted.
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
    if (
      typeof (stream as ResettableStream).on === "function" &&
      typeof (stream as ResettableStream).destroy === "function"
    ) {
      (stream as ResettableStream).on("aborted", endAbortedStream);
    }
    streams.set(scope, stream as CallStream);
  }
}

/** The HTTP/2 stream of the call of `scope`, when it was noted. @internal */
export function callStreamOf(scope: AuditScope | undefined): CallStream | undefined {
  return scope === undefined ? undefined : streams.get(scope);
}

// Node emits 'aborted' (and sets `closed` and `aborted`) as soon as a reset arrives before the server
// ended its side. A reset with NO_ERROR (0: Node's default `stream.close()`; grpc-js clients send
// CANCEL) destroys the stream, which emits the 'close' grpc-js waits for, only once its readable side is
// read to the end; grpc-js pauses it between reads, so a call whose authn, authz or handler waits learns
// of the reset late or never. The stream can carry nothing more: destroyed now, it closes at once, with
// its rstCode as it is and no reset sent back. Deferred: Node emits 'aborted' amid its own close handling.
function endAbortedStream(this: ResettableStream): void {
  process.nextTick(destroyStream, this);
}

function destroyStream(stream: ResettableStream): void {
  if (!stream.destroyed) stream.destroy();
}
