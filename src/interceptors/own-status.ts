import {
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  status as Status,
} from "@grpc/grpc-js";
import { type AuditScope, DEADLINE_SLOT, type ScopeRecord } from "../context/scope.js";
import type { OutboundStatus } from "./forwarding-call.js";

/**
 * Who sent a status past the audit chain's interceptors: grpc-js itself, an interceptor of the
 * application's placed before the chain, or either of them: a status sent on grpc-js's own call below
 * interceptors of the application's, which grpc-js sends there and so does the outermost interceptor
 * on the `call` it was given (the usual way to refuse a call).
 * @internal
 */
export type OwnStatusSender = "grpc-js" | "interceptor-before" | "grpc-js-or-interceptor-before";

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

/**
 * What `watchOwnStatuses` reports to: the audit scope interceptor's call (or its builder form).
 * @internal
 */
export interface OwnStatusWatcher {
  /** True while a status of the audit chain's goes out: it is the chain's, not one to note. */
  isForwardingStatus(): boolean;
  /** A status that entered below the chain, where it entered: the status to pass on (the request id may be added). */
  statusEntered(status: OutboundStatus): OutboundStatus;
  /**
   * A status that entered below the chain, first sent by `by`, reached `lowest`, the lowest call watched
   * (grpc-js's own), as `status`: what grpc-js sends the client, unless it drops it (`statusIsDropped`).
   */
  statusArrived(status: OutboundStatus, by: OwnStatusSender, lowest: unknown): void;
}

/** Deeper than any real chain of interceptors: a guard against a call object that leads back to itself. */
const MAX_CALLS_BELOW = 64;

/**
 * Hooks `sendStatus` of `inner` (the call the audit chain wraps) and of every call below it, so that
 * `watcher` hears of each status that enters below the chain where it entered, and once it reaches
 * grpc-js's own call, as it arrives there (an interceptor further out may hold it back or rewrite it,
 * and a cancel or the deadline may end the call first). Who sent it is the call where it entered: a
 * `ServerInterceptingCall` (an interceptor of the application's placed before the chain sent it
 * itself), "interceptor-before"; grpc-js's own call, "grpc-js" when the chain is outermost, else
 * "grpc-js-or-interceptor-before" (the outermost interceptor refuses a call on the `call` it was given,
 * grpc-js's own; so for a call of another kind, which is no grpc-js call). A status passed on from a
 * call above is not one that entered. The chain outermost hooks `inner` alone, no walk. A walk that
 * stops short of grpc-js's call (a call object of another kind) takes a status as arrived at the last
 * call it found.
 * Returns the lowest call found: grpc-js's own, unless the walk stopped short of it.
 * @internal
 */
export function watchOwnStatuses(
  inner: ServerInterceptingCallInterface,
  watcher: OwnStatusWatcher,
): ServerInterceptingCallInterface {
  if (!(inner instanceof ServerInterceptingCall)) {
    const send = inner.sendStatus;
    inner.sendStatus = (status) => {
      if (watcher.isForwardingStatus()) {
        send.call(inner, status);
        return;
      }
      const out = watcher.statusEntered(status);
      watcher.statusArrived(out, isGrpcJsCall(inner) ? "grpc-js" : "grpc-js-or-interceptor-before", inner);
      send.call(inner, out);
    };
    return inner;
  }
  const calls = callsBelow(inner);
  const last = calls.length - 1;
  const lowest = calls[last] as ServerInterceptingCallInterface;
  // Who sent each status on its way down, by the status object: a ServerInterceptingCall passes the one
  // it was given on (later, while its responder holds it), so a status arriving untagged entered at that
  // call (an interceptor's, or one rewritten by the interceptor above; at grpc-js's call, grpc-js's own
  // too), whatever else is held above meanwhile.
  const senders = new WeakMap<OutboundStatus, OwnStatusSender | "chain">();
  calls.forEach((call, level) => {
    const by: OwnStatusSender =
      call instanceof ServerInterceptingCall ? "interceptor-before" : "grpc-js-or-interceptor-before";
    const send = call.sendStatus;
    call.sendStatus = (status) => {
      let out = status;
      let sender = senders.get(status);
      if (sender === undefined) {
        if (level === 0 && watcher.isForwardingStatus()) sender = "chain";
        else {
          out = watcher.statusEntered(status);
          sender = by;
        }
        senders.set(out, sender);
      }
      if (level === last && sender !== "chain") watcher.statusArrived(out, sender, lowest);
      send.call(call, out);
    };
  });
  return lowest;
}

/** Whether `call` is grpc-js's own (its private HTTP/2 `stream`, 1.14), not an application's call object. */
function isGrpcJsCall(call: unknown): boolean {
  const { stream } = call as { stream?: unknown };
  return typeof stream === "object" && stream !== null;
}

/**
 * `inner`, then each `ServerInterceptingCall`'s next call (grpc-js 1.14's private `nextCall`, where its
 * `sendStatus` passes a status on) down to grpc-js's own call. Stops at a call that is no
 * `ServerInterceptingCall`, or whose next call it cannot read (another grpc-js): the calls found so far.
 */
function callsBelow(inner: ServerInterceptingCall): ServerInterceptingCallInterface[] {
  const calls: ServerInterceptingCallInterface[] = [inner];
  let call: ServerInterceptingCallInterface = inner;
  while (call instanceof ServerInterceptingCall && calls.length < MAX_CALLS_BELOW) {
    const next: unknown = Reflect.get(call, "nextCall");
    if (!isCall(next) || calls.includes(next)) break;
    calls.push(next);
    call = next;
  }
  return calls;
}

function isCall(value: unknown): value is ServerInterceptingCallInterface {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { sendStatus?: unknown }).sendStatus === "function"
  );
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
 * `call` is the one grpc-js hands the first interceptor (found below interceptors of your own before
 * the audit chain by `watchOwnStatuses`); without those private fields (another grpc-js) it is false:
 * the status is taken as sent.
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
