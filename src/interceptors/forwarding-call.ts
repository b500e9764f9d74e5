import { type Metadata, ServerInterceptingCall, type ServerInterceptingCallInterface } from "@grpc/grpc-js";

/** The listener grpc-js hands to `start`: the next step of the call's inbound events. */
export type InboundListener = Parameters<ServerInterceptingCallInterface["start"]>[0];
/** The status a call ends with (grpc-js does not export its name for it). */
export type OutboundStatus = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

/**
 * A `ServerInterceptingCall` that is also the listener it hands to the call it wraps: inbound events
 * arrive at its `on*` methods and outbound ones at its `send*` methods, and each goes on at once unless
 * a subclass overrides it. The audit interceptors run on every call, and this keeps each of them to one
 * object per call; grpc-js's builder form (`new ServerInterceptingCall(call, { start, ... })`) makes a
 * responder, a listener, an intercepting listener and a closure per event, and doing the same work it
 * is slower in the full chain (docs/performance.md, "Design choices the numbers rest on").
 *
 * Only for interceptors that pass every event on synchronously, before returning: grpc-js's queueing of
 * events that arrive while an interceptor holds an earlier one is not here.
 */
export abstract class ForwardingCall extends ServerInterceptingCall implements InboundListener {
  /** Set by `start`; grpc-js starts a call before any event arrives. */
  protected listener!: InboundListener;

  constructor(protected readonly inner: ServerInterceptingCallInterface) {
    super(inner);
  }

  override start(listener: InboundListener): void {
    this.listener = listener;
    this.inner.start(this);
  }

  override sendMetadata(metadata: Metadata): void {
    this.inner.sendMetadata(metadata);
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.inner.sendMessage(message, callback);
  }

  override sendStatus(status: OutboundStatus): void {
    this.inner.sendStatus(status);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.listener.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.listener.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    this.listener.onReceiveHalfClose();
  }

  onCancel(): void {
    this.listener.onCancel();
  }
}
