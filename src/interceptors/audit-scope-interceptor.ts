import { performance } from "node:perf_hooks";
import { Metadata, type ServerInterceptingCallInterface, type ServerInterceptor } from "@grpc/grpc-js";
import { type AuditScope, createAuditScope, runInAuditScope } from "../context/scope.js";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { sendableDetails } from "../server/status-details.js";
import { noteCallStream } from "./call-stream.js";
import { ForwardingCall, type OutboundStatus } from "./forwarding-call.js";
import {
  monotonicDeadline,
  noteOwnStatus,
  type OwnStatusSender,
  type OwnStatusWatcher,
  statusIsDropped,
  watchOwnStatuses,
} from "./own-status.js";

/** Options of `createAuditScopeInterceptor`. @internal */
export interface AuditScopeInterceptorOptions {
  /** Response header carrying the call's request id; false: none. Default: false. */
  requestIdHeader?: string | false;
}

/** A gRPC metadata key for text values: lowercase, not reserved, not binary. */
const TEXT_METADATA_KEY = /^(?!grpc-)[0-9a-z_.-]+(?<!-bin)$/;

const CONNECTION_SPECIFIC =
  "a connection-specific header, which Node's HTTP/2 refuses in a response (the first answer would crash the server)";

// grpc-js copies response metadata into the HTTP/2 headers as they are, over its own content-type.
const REFUSED_HEADERS: ReadonlyMap<string, string> = new Map([
  ["connection", CONNECTION_SPECIFIC],
  ["keep-alive", CONNECTION_SPECIFIC],
  ["proxy-connection", CONNECTION_SPECIFIC],
  ["transfer-encoding", CONNECTION_SPECIFIC],
  ["upgrade", CONNECTION_SPECIFIC],
  ["http2-settings", CONNECTION_SPECIFIC],
  ["te", CONNECTION_SPECIFIC],
  ["content-length", "a streamed gRPC response has none (every answered call would fail with INTERNAL)"],
  ["content-type", 'gRPC\'s own header, which must stay "application/grpc"'],
]);

/** Why `header` cannot be `requestIdHeader`; undefined when it can. */
function requestIdHeaderProblem(header: unknown): string | undefined {
  if (typeof header !== "string" || !TEXT_METADATA_KEY.test(header)) {
    if (typeof header === "string" && header.startsWith(":")) return "an HTTP/2 pseudo-header";
    return 'not a lowercase gRPC metadata key for text (0-9 a-z _ . -, not "grpc-…", not "…-bin")';
  }
  return REFUSED_HEADERS.get(header);
}

/**
 * The outermost interceptor: opens the per-call audit scope (operation, peer, user agent, trace and
 * request ids, start time) when metadata arrives, and runs every later step of the call inside it, so the other
 * interceptors, the handler and the Recorder see it. Must be `interceptors[0]`, so that it also sees
 * rejections sent by authn and authz. With `requestIdHeader`, every response carries the call's request
 * id: in its headers, or in its status when no headers were sent (a refused call).
 * @internal
 */
export function createAuditScopeInterceptor(options: AuditScopeInterceptorOptions = {}): ServerInterceptor {
  const header = options.requestIdHeader ?? false;
  const problem = header === false ? undefined : requestIdHeaderProblem(header);
  if (problem !== undefined) {
    throw new AuditConfigError(
      `audit scope interceptor: \`requestIdHeader\` must be false or a response header name for the request id; ${shown(header)} is refused: ${problem}`,
    );
  }
  return (methodDescriptor, call) => new ScopedCall(call, methodDescriptor.path, header);
}

/**
 * One call seen by the scope interceptor. bench/scope-builder.ts does the same work in grpc-js's builder
 * form, to measure that this call object pays: a change here belongs there too.
 */
class ScopedCall extends ForwardingCall implements OwnStatusWatcher {
  private readonly startedAtMs = performance.now();
  private scope: AuditScope | undefined;
  /** True once response headers went out: the request id header then rides on them. */
  private headersSent = false;

  /** grpc-js's own call, found below interceptors of the application's placed before the chain. */
  private readonly grpcCall: ServerInterceptingCallInterface;

  /** True while a status from the interceptors or the handler goes out (not one grpc-js sends itself). */
  private forwardingStatus = false;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly operation: string,
    private readonly requestIdHeader: string | false,
  ) {
    super(inner);
    // grpc-js ends some calls itself, calling its own sendStatus past every interceptor (a request it
    // cannot decode or too large, a response it cannot serialize or too large), and an interceptor of the
    // application's placed before the chain may send one itself (a server draining): this one hooks the
    // sendStatus of every call below it and notes such a status for the rules interceptor, named by the
    // call where it entered. With the chain outermost, only `inner` is grpc-js's call: no walk.
    this.grpcCall = watchOwnStatuses(inner, this);
  }

  /** For `watchOwnStatuses`: true while a status of the chain's goes out. @internal */
  isForwardingStatus(): boolean {
    return this.forwardingStatus;
  }

  /**
   * For `watchOwnStatuses`: a status that entered below the chain. Such a status is the whole response
   * when no headers went out (a request grpc-js could not take): it carries the request id too, which
   * the call's events (its authn result) already name.
   * @internal
   */
  statusEntered(status: OutboundStatus): OutboundStatus {
    if (this.scope === undefined || this.headersSent || this.requestIdHeader === false) return status;
    return this.withRequestId(status);
  }

  /**
   * For `watchOwnStatuses`: such a status reached grpc-js's own call. Noted, unless grpc-js drops it (its
   * call or stream already ended: the client saw a reset, or the status of the cancel or deadline).
   * @internal
   */
  statusArrived(status: OutboundStatus, by: OwnStatusSender, lowest: unknown): void {
    if (this.scope !== undefined && !statusIsDropped(lowest)) noteOwnStatus(this.scope, status, by);
  }

  override sendMetadata(metadata: Metadata): void {
    this.headersSent = true;
    if (this.requestIdHeader === false || this.scope === undefined) {
      this.inner.sendMetadata(metadata);
      return;
    }
    // A copy: a handler may send one Metadata object in every call, and would carry this call's id
    // into another call's headers or trailers.
    const withId = metadata.clone();
    withId.set(this.requestIdHeader, this.scope.requestId);
    this.inner.sendMetadata(withId);
  }

  override sendMessage(message: unknown, callback: () => void): void {
    // grpc-js sends default headers itself before the first message, past the interceptors: send ours.
    if (!this.headersSent && this.requestIdHeader !== false) this.sendMetadata(new Metadata());
    this.inner.sendMessage(message, callback);
  }

  override sendStatus(outbound: OutboundStatus): void {
    // Every status passes here, also of methods without a rule (the rules interceptor cut its own
    // already, to record it as sent): grpc-js throws on a lone surrogate (uncaught when a timer answers)
    // and an over-long trailer stalls the connection.
    const details =
      typeof outbound.details === "string" ? sendableDetails(outbound.details) : outbound.details;
    const status = details === outbound.details ? outbound : { ...outbound, details };
    this.forwardingStatus = true;
    try {
      if (this.requestIdHeader === false || this.scope === undefined) {
        this.inner.sendStatus(status);
        return;
      }
      // No headers yet (a refusal, or an answer without messages): the status is the whole response.
      // After headers, only a handler's own header of that name in its trailers is replaced: the caller
      // must not be handed an id that is in no event.
      const sendsId = !this.headersSent || (status.metadata?.get(this.requestIdHeader).length ?? 0) > 0;
      this.inner.sendStatus(sendsId ? this.withRequestId(status) : status);
    } finally {
      this.forwardingStatus = false;
    }
  }

  /** `status` with the request id header added to its metadata (a copy; the caller's is untouched). */
  private withRequestId(status: OutboundStatus): OutboundStatus {
    if (this.requestIdHeader === false || this.scope === undefined) return status;
    const metadata = status.metadata?.clone() ?? new Metadata();
    metadata.set(this.requestIdHeader, this.scope.requestId);
    return { ...status, metadata };
  }

  override onReceiveMetadata(metadata: Metadata): void {
    const scope = createAuditScope({
      operation: this.operation,
      metadata,
      peer: this.inner.getPeer(),
      startedAtMs: this.startedAtMs,
      deadlineAtMs: monotonicDeadline(this.inner.getDeadline()),
    });
    this.scope = scope;
    // A client's reset ends any call at once; the rules interceptor reads how the call's stream closed
    // (a client's cancel that came just after its half-close).
    noteCallStream(scope, this.grpcCall);
    runInAuditScope(scope, () => this.listener.onReceiveMetadata(metadata));
  }

  override onReceiveMessage(message: unknown): void {
    if (this.scope === undefined) this.listener.onReceiveMessage(message);
    else runInAuditScope(this.scope, () => this.listener.onReceiveMessage(message));
  }

  override onReceiveHalfClose(): void {
    if (this.scope === undefined) this.listener.onReceiveHalfClose();
    else runInAuditScope(this.scope, () => this.listener.onReceiveHalfClose());
  }

  // grpc-js reports a client cancel or an expired deadline from the HTTP/2 stream or a timer, outside
  // the call's context: the handler's "cancelled" listeners must still see the call's scope.
  override onCancel(): void {
    if (this.scope === undefined) this.listener.onCancel();
    else runInAuditScope(this.scope, () => this.listener.onCancel());
  }
}
