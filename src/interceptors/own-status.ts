import type { AuditScope } from "../context/scope.js";
import type { OutboundStatus } from "./forwarding-call.js";

/** The status grpc-js itself ended a call with, past every interceptor, by the call's scope. */
const ownStatus = new WeakMap<AuditScope, { code: number; details: string }>();

/**
 * Notes a status grpc-js sent itself (a request message it cannot decode, or larger than
 * `grpc.max_receive_message_length`; a response it cannot serialize, or larger than
 * `grpc.max_send_message_length`): the call then ends in a cancel, and is recorded with this status.
 * @internal
 */
export function noteOwnStatus(scope: AuditScope, status: OutboundStatus): void {
  ownStatus.set(scope, { code: status.code, details: status.details ?? "" });
}

/** The status grpc-js itself ended the call of `scope` with, if it did. @internal */
export function ownStatusOf(scope: AuditScope | undefined): { code: number; details: string } | undefined {
  return scope === undefined ? undefined : ownStatus.get(scope);
}
