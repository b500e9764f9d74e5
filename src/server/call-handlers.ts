// How asyncService reports a call's handlers on the handler channels: one start and one settlement per
// call, the outermost handler's, once every handler it started has settled.
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import { channel } from "node:diagnostics_channel";
import { HANDLER_SETTLED_CHANNEL, HANDLER_STARTED_CHANNEL } from "./handler-channels.js";

const started = channel(HANDLER_STARTED_CHANNEL);
const settled = channel(HANDLER_SETTLED_CHANNEL);
// Published as it is: an answered call allocates nothing for its report.
const STARTED = Object.freeze({});

/** Reports how one handler settled: its status (OK, cut off, or the error's). @internal */
export type Settle = (outcome: object) => void;

/**
 * The handlers of one call: the outermost, which grpc-js called, and those it started (another
 * asyncService-adapted handler given its call, or started in its async context). The call is reported
 * once: its start, then, when every one of them has settled, the outermost's outcome, whichever settled
 * last: the client got the outermost's answer, and a handler it left running may fail after it.
 */
class CallHandlers {
  /** Handlers started and not settled; 0 once the call's settlement is reported. */
  private running = 1;
  /** The outermost handler's outcome, once it settled. */
  private outcome: object | undefined = undefined;
  /** The async context the outermost settled in, when handlers it started still ran. */
  private context: AsyncResource | undefined = undefined;

  readonly settleOutermost: Settle = (outcome) => {
    this.outcome = outcome;
    // The last of them reports in this context (the call's audit scope): one started from another
    // context (a listener of an emitter of the application's) might have none.
    if (this.running > 1) this.context = new AsyncResource("grpc-audit.call-handlers");
    this.release();
  };

  private readonly settleInner: Settle = () => this.release();

  /** Whether the call's settlement is still to be reported: a handler started now joins it. */
  get open(): boolean {
    return this.running > 0;
  }

  /** Counts a handler started by one of the call's; returns how it reports its settlement. */
  join(): Settle {
    this.running += 1;
    return this.settleInner;
  }

  private release(): void {
    this.running -= 1;
    if (this.running > 0 || this.outcome === undefined || !settled.hasSubscribers) return;
    if (this.context === undefined) settled.publish(this.outcome);
    else this.context.runInAsyncScope(publishSettled, undefined, this.outcome);
  }
}

function publishSettled(outcome: object): void {
  settled.publish(outcome);
}

/** The handlers of the call whose handler runs in this async context; set only while subscribed. */
const callHandlers = new AsyncLocalStorage<CallHandlers>();
/**
 * The handlers of each call, by the call object grpc-js passed: a handler started from an event of the
 * call (a "data" or "cancelled" listener runs in the stream's async context, not the handler's).
 */
const handlersByCall = new WeakMap<object, CallHandlers>();

// A handler started while nothing listened: its settlement is still reported, alone.
const settleAlone: Settle = (outcome) => {
  if (settled.hasSubscribers) settled.publish(outcome);
};

/** The functions asyncService hands grpc-js, each of which reports its call's start as it is called. */
const reportingHandlers = new WeakSet<object>();

type AnyFunction = (...args: never[]) => unknown;

/**
 * Marks `handler`, a function asyncService hands grpc-js, as one that runs through `runReported`; so is
 * each copy bound from it: grpc-js registers `implementation[name].bind(implementation)`.
 * @internal
 */
export function reportingHandler<H extends AnyFunction>(handler: H): H {
  reportingHandlers.add(handler);
  Object.defineProperty(handler, "bind", { value: bindReporting, configurable: true, writable: true });
  return handler;
}

function bindReporting(this: AnyFunction, thisArg: unknown, ...args: unknown[]): AnyFunction {
  return reportingHandler(Function.prototype.bind.call(this, thisArg, ...args) as AnyFunction);
}

/**
 * True for a function asyncService made (`reportingHandler`): grpc-js calling it reports the call's
 * start at once, so that under the audit interceptors a call without a reported start never ran it.
 * @internal
 */
export function reportsItsStart(handler: unknown): boolean {
  return typeof handler === "function" && reportingHandlers.has(handler);
}

/**
 * Runs the handler, reporting its start when the audit interceptors listen: an outermost handler
 * opens its call's report and runs inside it; one started by another (given its call object, or in its
 * async context) joins that one's. Returns the handler's promise, and how to report its settlement
 * (before the call's status goes out).
 * @internal
 */
export function runReported(
  handler: (call: unknown) => Promise<unknown>,
  call: unknown,
): [Promise<unknown>, Settle] {
  // grpc-js passes an object; a caller of the adapted handler might not.
  const key = typeof call === "object" && call !== null ? call : undefined;
  // A call reported already is not joined: the object may be used again (a fixture, a stored call).
  const byCall = key && handlersByCall.get(key);
  const enclosing = byCall?.open ? byCall : callHandlers.getStore();
  if (enclosing?.open) return [run(handler, call), enclosing.join()];
  // Nothing listens (asyncService without the audit interceptors): no async context to set.
  if (!started.hasSubscribers) return [run(handler, call), settleAlone];
  const handlers = new CallHandlers();
  if (key !== undefined) handlersByCall.set(key, handlers);
  started.publish(STARTED);
  return [callHandlers.run(handlers, run, handler, call), handlers.settleOutermost];
}

/** Calls the handler so that a synchronous throw becomes a rejection too. */
async function run(handler: (call: unknown) => Promise<unknown>, call: unknown): Promise<unknown> {
  return handler(call);
}
