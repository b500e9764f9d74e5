import { performance } from "node:perf_hooks";
import type { Metadata, ServerInterceptingCallInterface, ServerInterceptor } from "@grpc/grpc-js";
import { type AuditScope, createAuditScope, runInAuditScope } from "../context/scope.js";
import { ForwardingCall } from "./forwarding-call.js";

/**
 * The outermost interceptor: opens the per-call audit scope (operation, peer, trace and request ids,
 * start time) when metadata arrives, and runs every later step of the call inside it, so the other
 * interceptors, the handler and the Recorder see it. Must be `interceptors[0]`, so that it also sees
 * rejections sent by authn and authz.
 * @internal
 */
export function createAuditScopeInterceptor(): ServerInterceptor {
  return (methodDescriptor, call) => new ScopedCall(call, methodDescriptor.path);
}

/** One call seen by the scope interceptor. */
class ScopedCall extends ForwardingCall {
  private readonly startedAtMs = performance.now();
  private scope: AuditScope | undefined;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly operation: string,
  ) {
    super(inner);
  }

  override onReceiveMetadata(metadata: Metadata): void {
    const scope = createAuditScope({
      operation: this.operation,
      metadata,
      peer: this.inner.getPeer(),
      startedAtMs: this.startedAtMs,
    });
    this.scope = scope;
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
}
