import { status as Status } from "@grpc/grpc-js";
import { type AuditScope, DEADLINE_SLOT, type ScopeRecord } from "../context/scope.js";
import type { OutboundStatus } from "./forwarding-call.js";

/**
 * Who sent a status past the audit chain's interceptors: grpc-js itself, or an interceptor of the
 * application's placed before the chain (the scope interceptor then sits on that one's call).
 * @internal
 */
export type OwnStatusSender = "grpc-js" | "interceptor-before";

/** A status sent past the audit chain, and by whom. @internal */
export interface OwnStatus {
  readonly code: number;
  readonly details: string;
  readonly by: OwnStatusSender;
}

/** The status grpc-js itself (or an interceptor before the chain) ended a call with, by the call's scope. */
const ownStatus = new WeakMap<AuditScope, OwnStatus>();

/**
 * Notes a status grpc-js sent itself (a request message it cannot decode, or larger than
 * `grpc.max_receive_message_length`; a response it cannot serialize, or larger than
 * `grpc.max_send_message_length`; its deadline timer): the call then ends in a cancel, and is recorded
 * with this status. The first one only: grpc-js may call its sendStatus again on the ended call (a
 * write under way that fails once the deadline ended the call: INTERNAL), and that one goes nowhere.
 * @internal
 */
export function noteOwnStatus(scope: AuditScope, status: OutboundStatus, by: OwnStatusSender): void {
  if (!ownStatus.has(scope)) ownStatus.set(scope, { code: status.code, details: status.details ?? "", by });
}

/** What `statusIsDropped` reads of the call grpc-js hands the first interceptor. */
interface BaseCall {
  readonly cancelled?: unknown;
  readonly stream?: { readonly destroyed?: unknown; readonly closed?: unknown } | null;
}

/**
 * True when grpc-js drops a status sent on `call` now, the test of its `checkCancelled` (grpc-js 1.14):
 * the call counts as ended, or its HTTP/2 stream is destroyed or closed. Such a status reaches no
 * client, which sees the reset instead: on Node 24, a write held back by flow control calls back with an
 * error once `forceShutdown` destroys the session (nodejs/node#66016), and grpc-js then "sends" INTERNAL.
 * `call` is the one grpc-js hands the first interceptor; without those private fields (another grpc-js,
 * an interceptor of your own before the audit chain) it is false: the status is taken as sent.
 * @internal
 */
export function statusIsDropped(call: unknown): boolean {
  if (typeof call !== "object" || call === null) return false;
  const { cancelled, stream } = call as BaseCall;
  if (cancelled === true) return true;
  return (
    typeof stream === "object" && stream !== null && (stream.destroyed === true || stream.closed === true)
  );
}

/** The status grpc-js itself (or an interceptor before the chain) ended the call of `scope` with, if one did. @internal */
export function ownStatusOf(scope: AuditScope | undefined): OwnStatus | undefined {
  return scope === undefined ? undefined : ownStatus.get(scope);
}

/**
 * A cancel this close to the deadline counts as the deadline expiring: the client's deadline timer
 * starts before the server reads the grpc-timeout header, so the client's cancel usually arrives a
 * little before the server's own deadline, and on a loaded machine more than a little.
 * @internal
 */
export const DEADLINE_TOLERANCE_MS = 100;

// grpc-js's own message when its deadline timer ends the call: the record is the same whichever of the
// client's cancel and that timer reaches the call first.
const DEADLINE_EXCEEDED = Object.freeze({ code: Status.DEADLINE_EXCEEDED, details: "Deadline exceeded" });
const CANCELLED = Object.freeze({ code: Status.CANCELLED, details: "" });

/**
 * How a call grpc-js reported cancelled (`onCancel` before any status of the interceptors or the
 * handler went out) ended for its client: the status grpc-js itself sent, if it did, else
 * DEADLINE_EXCEEDED once the deadline is past (or within `DEADLINE_TOLERANCE_MS`), else CANCELLED.
 * @internal
 */
export function cancelledCallStatus(
  scope: AuditScope | undefined,
  deadline: Date | number,
): { code: number; details: string } {
  const own = ownStatusOf(scope);
  if (own !== undefined) return { code: own.code, details: own.details };
  return isAtDeadline(scope, deadline) ? DEADLINE_EXCEEDED : CANCELLED;
}

/**
 * True once the call's deadline is past, or within `DEADLINE_TOLERANCE_MS` of it: on the monotonic
 * clock the scope noted it on (see `monotonicDeadline`), else (no scope) `deadline` on the wall clock.
 * @internal
 */
export function isAtDeadline(scope: AuditScope | undefined, deadline: Date | number): boolean {
  const noted = (scope as ScopeRecord | undefined)?.[DEADLINE_SLOT];
  if (noted !== undefined) return performance.now() >= noted - DEADLINE_TOLERANCE_MS;
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && Date.now() >= ms - DEADLINE_TOLERANCE_MS;
}

/**
 * A call's deadline (grpc-js's `getDeadline()`: ms on the wall clock, or Infinity) on the
 * `performance.now()` clock, read as the call starts: a wall-clock step later does not move it.
 * @internal
 */
export function monotonicDeadline(deadline: Date | number): number {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? performance.now() + (ms - Date.now()) : Number.POSITIVE_INFINITY;
}
