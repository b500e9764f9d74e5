import { performance } from "node:perf_hooks";
import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { type AuditScope, createAuditScope, runInAuditScope } from "../recorder/scope.js";

/**
 * The outermost interceptor: opens the per-call audit scope (operation, peer, trace and request ids,
 * start time) when metadata arrives, and runs every later step of the call inside it, so the other
 * interceptors, the handler and the Recorder see it. Must be `interceptors[0]`, so that it also sees
 * rejections sent by authn and authz.
 */
export function createAuditScopeInterceptor(): ServerInterceptor {
  return (methodDescriptor, call) => {
    const startedAtMs = performance.now();
    let scope: AuditScope | undefined;
    const inScope = (next: () => void) => (scope === undefined ? next() : runInAuditScope(scope, next));
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            scope = createAuditScope({
              operation: methodDescriptor.path,
              metadata,
              peer: call.getPeer(),
              startedAtMs,
            });
            runInAuditScope(scope, () => nextMetadata(metadata));
          },
          onReceiveMessage: (message, nextMessage) => inScope(() => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => inScope(nextHalfClose),
        }),
    });
  };
}
