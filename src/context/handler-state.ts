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
}

/**
 * What `whenHandlerSettles` learns: the handler's outcome, "untracked" when no adapter reported the
 * handler (a plain grpc-js handler: its outcome cannot be known), or "timeout" when it had not settled
 * within the wait.
 * @internal
 */
export type HandlerSettlement = HandlerOutcome | "untracked" | "timeout";

type Waiter = (outcome: HandlerOutcome) => void;

/**
 * The slot while a waiter waits: how many reported handlers still run (a handler may call another
 * asyncService-adapted one, which reports into the same scope), and who waits.
 */
class Pending {
  constructor(
    public running: number,
    public waiter: Waiter,
  ) {}
}

// The slot holds undefined (nothing reported), the number of handlers running (no waiter yet, so an
// answered call allocates nothing here), a Pending, or the outcome once every started handler settled.

/**
 * Notes that a handler of the call started, under an adapter that will report how it settles.
 * @internal
 */
export function noteHandlerStarted(scope: AuditScope): void {
  const record = scope as ScopeRecord;
  const state = record[HANDLER_SLOT];
  if (state instanceof Pending) state.running += 1;
  else record[HANDLER_SLOT] = typeof state === "number" ? state + 1 : 1;
}

/**
 * Notes how a handler of the call settled. The call's handler has settled when every started one has:
 * the last to settle (the outermost) gives the outcome, handed to whoever waits for it.
 * @internal
 */
export function noteHandlerSettled(scope: AuditScope, outcome: HandlerOutcome): void {
  const record = scope as ScopeRecord;
  const state = record[HANDLER_SLOT];
  if (state instanceof Pending) {
    state.running -= 1;
    if (state.running > 0) return;
    record[HANDLER_SLOT] = outcome;
    state.waiter(outcome);
    return;
  }
  // A settlement without a noted start (the audit interceptors subscribed meanwhile) counts as the last.
  record[HANDLER_SLOT] = typeof state === "number" && state > 1 ? state - 1 : outcome;
}

/**
 * Calls `onSettled` once with how the call's handler settled: at once when it has (or when no adapter
 * reported it), else when it does, or with "timeout" after `timeoutMs`. The timer is not unref'd: a
 * pending record keeps the process up to `timeoutMs`, so that it is recorded, or counted as dropped.
 * @internal
 */
export function whenHandlerSettles(
  scope: AuditScope | undefined,
  timeoutMs: number,
  onSettled: (settlement: HandlerSettlement) => void,
): void {
  const record = scope as ScopeRecord | undefined;
  const state = record?.[HANDLER_SLOT];
  if (record === undefined || (typeof state !== "number" && !(state instanceof Pending))) {
    onSettled(isOutcome(state) ? state : "untracked");
    return;
  }
  let waiting = true;
  const timer = setTimeout(() => {
    waiting = false;
    onSettled("timeout");
  }, timeoutMs);
  // Another waiter (a second rules interceptor in the chain) is called too.
  const earlier = state instanceof Pending ? state.waiter : undefined;
  const waiter: Waiter = (outcome) => {
    earlier?.(outcome);
    if (!waiting) return;
    waiting = false;
    clearTimeout(timer);
    onSettled(outcome);
  };
  if (state instanceof Pending) state.waiter = waiter;
  else record[HANDLER_SLOT] = new Pending(state, waiter);
}

function isOutcome(state: unknown): state is HandlerOutcome {
  return typeof state === "object" && state !== null && !(state instanceof Pending);
}
