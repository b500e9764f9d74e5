import { type AuditScope, HANDLER_SLOT, type ScopeRecord } from "./scope.js";

/** How a call's handler ended, as its adapter (`asyncService`) reports it. @internal */
export interface HandlerOutcome {
  /** gRPC status code the handler ended with (0 for OK). */
  readonly code: number;
  /** Its status message ("" for OK). */
  readonly details: string;
}

/**
 * What `whenHandlerSettles` learns: the handler's outcome, "untracked" when no adapter reported the
 * handler (a plain grpc-js handler: its outcome cannot be known), or "timeout" when it had not settled
 * within the wait.
 * @internal
 */
export type HandlerSettlement = HandlerOutcome | "untracked" | "timeout";

/** The slot's value while a reported handler runs. */
const RUNNING = Object.freeze({ running: true });

type Waiter = (outcome: HandlerOutcome) => void;

/**
 * Notes that the call's handler started, under an adapter that will report how it settles.
 * @internal
 */
export function noteHandlerStarted(scope: AuditScope): void {
  (scope as ScopeRecord)[HANDLER_SLOT] = RUNNING;
}

/**
 * Notes how the call's handler settled, and hands it to whoever waits for it.
 * @internal
 */
export function noteHandlerSettled(scope: AuditScope, outcome: HandlerOutcome): void {
  const record = scope as ScopeRecord;
  const state = record[HANDLER_SLOT];
  record[HANDLER_SLOT] = outcome;
  if (typeof state === "function") (state as Waiter)(outcome);
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
  // Another waiter (a second rules interceptor in the chain) is called too.
  const earlier = typeof state === "function" ? (state as Waiter) : undefined;
  if (record === undefined || (state !== RUNNING && earlier === undefined)) {
    onSettled(isOutcome(state) ? state : "untracked");
    return;
  }
  let waiting = true;
  const timer = setTimeout(() => {
    waiting = false;
    onSettled("timeout");
  }, timeoutMs);
  const waiter: Waiter = (outcome) => {
    earlier?.(outcome);
    if (!waiting) return;
    waiting = false;
    clearTimeout(timer);
    onSettled(outcome);
  };
  record[HANDLER_SLOT] = waiter;
}

function isOutcome(state: unknown): state is HandlerOutcome {
  return typeof state === "object" && state !== null && state !== RUNNING;
}
