// The audit scope interceptor in grpc-js's builder form, for the in-process benchmark: whether the
// call object the library uses still pays (docs/performance.md, "Design choices the numbers rest on").
import { Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { type AuditScope, createAuditScope, runInAuditScope } from "../src/context/scope.js";
import { noteCallStream } from "../src/interceptors/call-stream.js";
import type { OutboundStatus } from "../src/interceptors/forwarding-call.js";
import {
  monotonicDeadline,
  noteOwnStatus,
  statusIsDropped,
  watchOwnStatuses,
} from "../src/interceptors/own-status.js";
import { sendableDetails } from "../src/server/status-details.js";

/**
 * `ScopedCall` (src/interceptors/audit-scope-interceptor.ts) in grpc-js's builder form, doing all of its
 * work: the scope around every inbound event (onCancel too), the statuses grpc-js or an interceptor
 * before the chain sends itself noted, the request id header on the headers or, when none went out, on
 * the status, every status's details made sendable, and the call's HTTP/2 stream noted.
 * Keep the two alike: the comparison is only fair while they do the same work.
 */
export const scopeBuilder =
  (requestIdHeader: string | false): ServerInterceptor =>
  (method, call) => {
    const startedAtMs = performance.now();
    let scope: AuditScope | undefined;
    let headersSent = false;
    let forwardingStatus = false;
    const withRequestId = (status: OutboundStatus): OutboundStatus => {
      if (requestIdHeader === false || scope === undefined) return status;
      const metadata = status.metadata?.clone() ?? new Metadata();
      metadata.set(requestIdHeader, scope.requestId);
      return { ...status, metadata };
    };
    // grpc-js's own statuses (a request it cannot decode or take) bypass the interceptors, and so do
    // those an interceptor of the application's before the chain sends itself.
    const grpcCall = watchOwnStatuses(call, {
      isForwardingStatus: () => forwardingStatus,
      statusEntered: (status) => (scope === undefined || headersSent ? status : withRequestId(status)),
      statusArrived: (status, by, lowest) => {
        if (scope !== undefined && !statusIsDropped(lowest)) noteOwnStatus(scope, status, by);
      },
    });
    // A builder's onCancel runs before the next listener's onCancel, not around it: the scope goes
    // around the listener grpc-js hands to the call this one wraps.
    const start = call.start;
    call.start = (listener) => {
      const cancel = listener.onCancel;
      listener.onCancel = () =>
        scope === undefined ? cancel.call(listener) : runInAuditScope(scope, () => cancel.call(listener));
      start.call(call, listener);
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, next) => {
            const opened = createAuditScope({
              operation: method.path,
              metadata,
              peer: call.getPeer(),
              startedAtMs,
              deadlineAtMs: monotonicDeadline(call.getDeadline()),
            });
            scope = opened;
            noteCallStream(opened, grpcCall);
            runInAuditScope(opened, () => next(metadata));
          },
          onReceiveMessage: (message, next) =>
            scope === undefined ? next(message) : runInAuditScope(scope, () => next(message)),
          onReceiveHalfClose: (next) => (scope === undefined ? next() : runInAuditScope(scope, () => next())),
        }),
      // ServerInterceptingCall sends empty headers through here before the first message, if none went.
      sendMetadata: (metadata, next) => {
        headersSent = true;
        if (requestIdHeader === false || scope === undefined) {
          next(metadata);
          return;
        }
        const withId = metadata.clone();
        withId.set(requestIdHeader, scope.requestId);
        next(withId);
      },
      sendStatus: (outbound, next) => {
        const details =
          typeof outbound.details === "string" ? sendableDetails(outbound.details) : outbound.details;
        const status = details === outbound.details ? outbound : { ...outbound, details };
        forwardingStatus = true;
        try {
          next(headersSent ? status : withRequestId(status));
        } finally {
          forwardingStatus = false;
        }
      },
    });
  };
