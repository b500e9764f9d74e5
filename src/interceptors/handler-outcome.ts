import { subscribe } from "node:diagnostics_channel";
import { ServerInterceptingCall, status as Status } from "@grpc/grpc-js";
import { type HandlerSettlement, noteHandlerSettled, noteHandlerStarted } from "../context/handler-state.js";
import { currentAuditScope } from "../context/scope.js";
import type { StatusMessagePolicy } from "../recorder/status-message.js";
import { reportsItsStart } from "../server/call-handlers.js";
import { HANDLER_SETTLED_CHANNEL, HANDLER_STARTED_CHANNEL } from "../server/handler-channels.js";
import type { OwnStatusSender } from "./own-status.js";

let watching = false;

/**
 * Keeps what `asyncService` reports about each handler (started, settled with which status) in the
 * call's audit scope, for the rules interceptor. Subscribes once per process; a report outside a
 * call's scope (no audit interceptors) is ignored.
 * @internal
 */
export function watchAsyncHandlers(): void {
  if (watching) return;
  watching = true;
  subscribe(HANDLER_STARTED_CHANNEL, onStarted);
  subscribe(HANDLER_SETTLED_CHANNEL, onSettled);
}

// A subscriber that throws would become an uncaught exception: neither can.
function onStarted(): void {
  const scope = currentAuditScope();
  if (scope !== undefined) noteHandlerStarted(scope);
}

function onSettled(message: unknown): void {
  const scope = currentAuditScope();
  if (scope === undefined || typeof message !== "object" || message === null) return;
  const { code, details, cutOff } = message as { code?: unknown; details?: unknown; cutOff?: unknown };
  if (typeof code !== "number") return;
  const text = typeof details === "string" ? details : "";
  if (cutOff === true) noteHandlerSettled(scope, { code, details: text, cutOff });
  // The response of a handler that resolved after its call was cancelled (HandlerOutcome.response).
  else if ("response" in message)
    noteHandlerSettled(scope, { code, details: text, response: message.response });
  else noteHandlerSettled(scope, { code, details: text });
}

/** Deeper than any real chain of interceptors: a guard against a call object that leads back to itself. */
const MAX_CALLS_BELOW = 64;

/**
 * True when the handler grpc-js runs for the call below `call` (an interceptor's `inner`) is one that
 * `asyncService` made, which reports its start as grpc-js calls it: a call of it without a reported
 * start never ran it. grpc-js keeps the handler in a private field of its own call (`handler.func`,
 * 1.14), found through each `ServerInterceptingCall`'s `nextCall`; when either is missing (another
 * grpc-js, a call object of yours that is no `ServerInterceptingCall`), false: nothing is known.
 * @internal
 */
export function runsReportingHandler(call: unknown): boolean {
  try {
    let below = call;
    for (let depth = 0; below instanceof ServerInterceptingCall && depth < MAX_CALLS_BELOW; depth++) {
      below = Reflect.get(below, "nextCall");
    }
    if (typeof below !== "object" || below === null) return false;
    const handler: unknown = Reflect.get(below, "handler");
    return typeof handler === "object" && handler !== null && reportsItsStart(Reflect.get(handler, "func"));
  } catch {
    return false; // a getter or Proxy trap that throws: nothing is known
  }
}

/**
 * The result of a call that ended without the handler's status reaching the client (a cancel, a
 * deadline, a status grpc-js sent itself), by what the handler did; undefined for a known failure of
 * a rule that records only successes. `statusMessages` "record" marks a message of this library's own
 * words only, kept whatever the status message policy (it says what became of the handler);
 * `policy` (the rule's, else the Recorder's) applies to a failed handler's message only.
 * @internal
 */
export function resultAfterCancel(
  client: { code: number; own: OwnStatusSender | undefined },
  settlement: HandlerSettlement,
  recordOnError: boolean,
  access: boolean,
  timeoutMs: number,
  policy: StatusMessagePolicy | undefined,
): { result: { success: boolean; code: number; message: string }; statusMessages?: "record" } | undefined {
  const why = endedBy(client);
  if (settlement === "not-started") {
    // Nothing ran, so nothing changed or was read: a failure, recorded as one.
    if (!recordOnError) return undefined;
    return {
      result: { success: false, code: client.code, message: `${why}; the handler never ran` },
      statusMessages: "record",
    };
  }
  if (settlement === "untracked" || settlement === "timeout" || settlement.cutOff === true) {
    const unknown =
      settlement === "untracked"
        ? "the handler's outcome is unknown"
        : settlement === "timeout"
          ? `the handler had not finished ${timeoutMs} ms later`
          : "the handler stopped when the call's stream was cut off under it";
    const effect = access ? "it may have completed the read" : "it may have completed the change";
    return {
      result: { success: false, code: client.code, message: `${why}; ${unknown}: ${effect}` },
      statusMessages: "record",
    };
  }
  if (settlement.code === Status.OK) {
    return {
      result: { success: true, code: Status.OK, message: `${why}; the handler finished OK` },
      statusMessages: "record",
    };
  }
  if (!recordOnError) return undefined;
  // Only the handler's message follows the policy: "omit" leaves our words, "truncate" and "record"
  // keep the start of the text (ours, far shorter than 256 bytes) and redact the whole.
  const failed = `${why}; the handler failed`;
  if (policy === "omit") {
    return { result: { success: false, code: settlement.code, message: failed }, statusMessages: "record" };
  }
  return { result: { success: false, code: settlement.code, message: `${failed}: ${settlement.details}` } };
}

/** Why the client did not get the handler's status. */
function endedBy(client: { code: number; own: OwnStatusSender | undefined }): string {
  const name = Status[client.code] ?? String(client.code);
  // grpc-js's own deadline timer sends its status itself too: a deadline, whichever way it ended the call.
  if (client.code === Status.DEADLINE_EXCEEDED) return `the deadline had passed (${name})`;
  if (client.own === "grpc-js") return `grpc-js ended the call (${name})`;
  if (client.own === "interceptor-before")
    return `an interceptor before the audit chain ended the call (${name})`;
  if (client.own === "grpc-js-or-interceptor-before")
    return `grpc-js or an interceptor before the audit chain ended the call (${name})`;
  // A client's cancel and a server shutdown (forceShutdown resets every stream) look the same here.
  return `the call was cancelled (${name}): by the client or a server shutdown`;
}
