import { AsyncResource } from "node:async_hooks";
import { type AuditScope, HANDLER_SLOT, type ScopeRecord } from "./scope.js";

/** How a call's handler ended, as its adapter (`asyncService`) reports it. @internal */
export interface HandlerOutcome {
  /** gRPC status code the handler ended with (0 for OK). */
  readonly code: number;
  /** Its status message ("" for OK). */
  readonly details: string;
  /**
   * True when the handler threw because the call's stream was cut off under it (a cancel or deadline
   * destroyed the stream it was reading or writing): it stopped part way, failing nothing of its own.
   */
  readonly cutOff?: boolean;
  /**
   * The response a unary or client-streaming handler resolved with, set only when its call had been
   * cancelled (or its deadline had passed) by then: grpc-js then never sends it, so the rules
   * interceptor reads a `resp.` target id here. Absent on a call answered normally (its response is
   * seen as it goes out), so that such a call allocates nothing for it.
   */
  readonly response?: unknown;
}

/**
 * What `whenHandlerSettles` learns: the handler's outcome, "untracked" when no adapter reported the
 * handler (a plain grpc-js handler: its outcome cannot be known), "not-started" when the call's handler
 * is one that reports its start and none was reported (it never ran), or "timeout" when it had not
 * settled within the wait.
 * @internal
 */
export type HandlerSettlement = HandlerOutcome | "untracked" | "not-started" | "timeout";

type Waiter = (outcome: HandlerOutcome) => void;

/**
 * What the slot holds once a handler of the call started: how many reported handlers still run, who
 * waits, and the outcome once every started one settled. asyncService reports a call once, with the
 * outcome of the handler grpc-js called, after those it started on the call (given its call object, or
 * in its async context) settled too; a handler started otherwise in the call's scope (on a call object
 * of its own, from an emitter's listener) reports apart, and is counted here. It is also the first
 * handler's async context, captured as it started (the started channel publishes inside the handler):
 * an outcome learned outside it, at a cancel or at the wait's end, is handed over in it, so that its
 * event carries the handler's span and every other AsyncLocalStorage store the handler ran with.
 */
class HandlerState extends AsyncResource {
  waiter: Waiter | undefined = undefined;
  outcome: HandlerOutcome | undefined = undefined;

  constructor(public running: number) {
    super("grpc-audit.handler");
  }
}

// The slot holds undefined (nothing reported) or a HandlerState, one per call whose handler reported.

/**
 * Notes that a handler of the call started, under an adapter that will report how it settles. Call it
 * inside the handler's async context: a settlement learned outside it is handed over in that context.
 * @internal
 */
export function noteHandlerStarted(scope: AuditScope): void {
  const record = scope as ScopeRecord;
  const state = record[HANDLER_SLOT];
  if (state instanceof HandlerState && state.outcome === undefined) state.running += 1;
  else record[HANDLER_SLOT] = new HandlerState(1);
}

/**
 * Notes how a handler of the call settled. The call's handler has settled when every started one has:
 * the last to settle gives the outcome, handed to whoever waits for it: the outermost's, which
 * asyncService reports only once the handlers it started have settled.
 * @internal
 */
export function noteHandlerSettled(scope: AuditScope, outcome: HandlerOutcome): void {
  const record = scope as ScopeRecord;
  const state = record[HANDLER_SLOT];
  // A settlement without a noted start (the audit interceptors subscribed meanwhile) counts as the
  // last; it is reported inside the handler's context too.
  const known = state instanceof HandlerState ? state : new HandlerState(1);
  record[HANDLER_SLOT] = known;
  if (known.outcome !== undefined) {
    known.outcome = outcome;
    return;
  }
  known.running -= 1;
  if (known.running > 0) return;
  known.outcome = outcome;
  const waiter = known.waiter;
  known.waiter = undefined;
  waiter?.(outcome);
}

/**
 * Calls `onSettled` once with how the call's handler settled: at once when it has (or when no adapter
 * reported it), else when it does, or with "timeout" after `timeoutMs`. `reportsStart`: the call's
 * handler is one whose adapter reports its start as it is called, so that none reported means it
 * never started ("not-started"); otherwise nothing can be known of it ("untracked"). A reported
 * handler's settlement is handed over inside the handler's async context, wherever it was learned;
 * the others in the caller's. The timer is not unref'd: a pending record keeps the process up to
 * `timeoutMs`, so that it is recorded, or counted as dropped.
 * @internal
 */
export function whenHandlerSettles(
  scope: AuditScope | undefined,
  timeoutMs: number,
  onSettled: (settlement: HandlerSettlement) => void,
  reportsStart = false,
): void {
  const state = (scope as ScopeRecord | undefined)?.[HANDLER_SLOT];
  if (!(state instanceof HandlerState)) {
    onSettled(reportsStart ? "not-started" : "untracked");
    return;
  }
  if (state.outcome !== undefined) {
    state.runInAsyncScope(onSettled, undefined, state.outcome);
    return;
  }
  let waiting = true;
  const timer = setTimeout(() => {
    waiting = false;
    // The timer runs in the context it was set in (a cancel's, outside the handler): not this event's.
    state.runInAsyncScope(onSettled, undefined, "timeout");
  }, timeoutMs);
  // Another waiter (a second rules interceptor in the chain) is called too.
  const earlier = state.waiter;
  state.waiter = (outcome) => {
    earlier?.(outcome);
    if (!waiting) return;
    waiting = false;
    clearTimeout(timer);
    // Reported from inside the call already, maybe by a handler the first started: hand it over in the first's.
    state.runInAsyncScope(onSettled, undefined, outcome);
  };
}
