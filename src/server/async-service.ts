import type { Writable } from "node:stream";
import type {
  MethodDefinition,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { Metadata, status as Status } from "@grpc/grpc-js";
import { AuditConfigError } from "../errors/index.js";
import { callHook } from "../errors/report.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { reportingHandler, runReported } from "./call-handlers.js";
import { sendableDetails } from "./status-details.js";

/** The async handler of one method: unary and client-streaming handlers resolve to the response. */
export type AsyncHandler<M> = M extends MethodDefinition<infer Req, infer Res> & {
  requestStream: infer ClientStreams;
  responseStream: infer ServerStreams;
}
  ? ServerStreams extends true
    ? ClientStreams extends true
      ? (call: ServerDuplexStream<Req, Res>) => Promise<void>
      : (call: ServerWritableStream<Req, Res>) => Promise<void>
    : ClientStreams extends true
      ? (call: ServerReadableStream<Req, Res>) => Promise<Res>
      : (call: ServerUnaryCall<Req, Res>) => Promise<Res>
  : never;

/** Async handlers for every method of a service definition (such as ts-proto's `ProjectServiceService`). */
export type AsyncServiceImplementation<S extends ServiceDefinition> = { [K in keyof S]: AsyncHandler<S[K]> };

type AnyAsyncHandler = (call: unknown) => Promise<unknown>;

// Published as it is: an answered call allocates nothing for its report.
const SETTLED_OK = Object.freeze({ code: Status.OK, details: "" });
// Never sent: grpc-js drops the status of a call it cut off.
const CUT_OFF = Object.freeze({ code: Status.CANCELLED, details: "the call's stream cut off", cutOff: true });

/**
 * A gRPC error status to throw from an async handler: `code` is a grpc-js `status` value. Throw it as a
 * plain object (`throw { code: status.NOT_FOUND, details: "no such project" }`) or a plain `Error` given a
 * `code`; an object of another class (an Error subclass) counts as a status only when it also has
 * `details` or grpc-js `Metadata`. A grpc-js client call's error let through from another service is
 * not one: it ends the call with INTERNAL "internal error" (catch it and throw your own status).
 */
export interface StatusError {
  /**
   * gRPC status code, such as `status.NOT_FOUND` (5); an integer from 1 to 16, else the call ends with
   * INTERNAL and "internal error" instead.
   */
  code: number;
  /**
   * Status message sent to the client. Default: `message`, else "". Longer than 8 KiB as grpc-js sends
   * it (percent-encoded UTF-8: a space takes 3 bytes, "日" 9), it is cut between characters and ends
   * with "…": a larger trailer could stall the client's HTTP/2 connection, this call and every later one.
   */
  details?: string;
  /** Status message sent to the client when `details` is not set (an Error's own message). */
  message?: string;
  /**
   * Trailing metadata sent with the status, as grpc-js's own callback takes it. Sent as it is, never
   * cut: keep it small (a 100 KB value stalls the client's connection as an over-long `details` would).
   */
  metadata?: Metadata;
}

/** Options of `asyncService`. */
export interface AsyncServiceOptions {
  /**
   * Called with each error a handler threw that ends its call with INTERNAL "internal error" (a bug, a
   * library's error, another service's error let through): the client sees none of it, so log it
   * here. `method` is the method's path ("/example.v1.ProjectService/CreateProject"). A throw from it
   * is ignored. Not called for the "Premature close" a cancel or deadline throws into a `for await`
   * over the request messages or a `pipeline` into the call, nor for the ERR_STREAM_DESTROYED a write
   * waiting then (or made later) fails with. Default: none.
   */
  onInternalError?: (error: unknown, method: string) => void;
}

const OPTION_NAMES = Object.keys({ onInternalError: 1 } satisfies Record<keyof AsyncServiceOptions, 1>);

/**
 * Message sent for errors that carry no gRPC status code, so internal details never reach the client.
 * @internal
 */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/**
 * Adapts async handlers to grpc-js. grpc-js ignores the promise a handler returns, so a rejected
 * promise leaves the call hanging until its deadline; here it becomes a status instead: a thrown
 * `StatusError` (a plain object or a plain `Error` with a gRPC `code`, or an error of another class that
 * also carries `details` or grpc-js `Metadata`) keeps its code, `details` (or message) and `metadata` (trailers, when a grpc-js
 * `Metadata`); any other error becomes INTERNAL with the fixed message "internal error", also one with
 * a numeric `code` of its own (a database driver's), whose message could reach the client otherwise,
 * and a grpc-js client call's error the handler let through (another service's details and trailers).
 * Stream handlers that resolve without ending the stream get it ended. `handlers` may be a class
 * instance: its methods are called on it. `options.onInternalError` hears of each error that ended a
 * call with INTERNAL, which the client never sees.
 *
 * Under the audit interceptors, each handler also reports when it starts, and when it settles and
 * how: grpc-js lets a handler run on after the client cancelled or its deadline passed, and drops its
 * answer, so the call's mutation or access event then records the handler's own outcome, or that it
 * never ran (see docs/rules.md). A handler that starts other adapted handlers on its call is reported
 * with its own outcome, once all of them have settled.
 *
 * In bidi handlers `for await (… of call)` leaves the call open when the loop ends (Node's own iterator
 * would destroy the duplex stream, and no status could follow), so the handler may still write and return.
 *
 * ```ts
 * server.addService(ProjectServiceService, asyncService(ProjectServiceService, {
 *   async createProject(call) { return { id: "p-1", name: call.request.name, ownerId: "" }; },
 *   async archiveProject(call) { call.write({ projectId: call.request.projectId, percent: 100 }); },
 * }));
 * ```
 */
export function asyncService<S extends ServiceDefinition>(
  definition: S,
  handlers: AsyncServiceImplementation<S>,
  options: AsyncServiceOptions = {},
): UntypedServiceImplementation {
  if (typeof definition !== "object" || definition === null) {
    throw new AuditConfigError(
      "asyncService: definition must be a grpc-js service definition (such as the generated ProjectServiceService)",
    );
  }
  if (typeof handlers !== "object" || handlers === null) {
    throw new AuditConfigError("asyncService: handlers must be an object of async functions");
  }
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("asyncService: options must be an object");
  }
  rejectUnknownOptions("asyncService", options, OPTION_NAMES);
  const { onInternalError } = options;
  if (onInternalError !== undefined && typeof onInternalError !== "function") {
    throw new AuditConfigError("asyncService: `onInternalError` must be a function");
  }
  const table = handlers as Record<string, unknown>;
  // Own functions must name methods of the service (a typo would otherwise leave a method unimplemented);
  // other own fields (state of a class instance) are not handlers.
  for (const [name, value] of Object.entries(table)) {
    if (typeof value === "function" && !Object.hasOwn(definition, name)) {
      throw new AuditConfigError(`asyncService: the service has no method "${name}"`);
    }
  }
  const implementation: UntypedServiceImplementation = {};
  // Handlers are looked up by method name, so methods of a class instance (on its prototype) count too,
  // and are called on the handlers object.
  for (const name of Object.keys(definition)) {
    const method = definition[name];
    const handler = table[name];
    if (method === undefined || handler === undefined) continue;
    if (typeof handler !== "function")
      throw new AuditConfigError(`asyncService: handler "${name}" must be a function`);
    const bound: AnyAsyncHandler = (call) => (handler as AnyAsyncHandler).call(handlers, call);
    const path = method.path;
    const statusOf = (error: unknown) => {
      const status = thrownStatus(error);
      if (status !== undefined) return status;
      // The call ends with its status whatever the hook does.
      callHook(onInternalError, error, path);
      return internalStatus();
    };
    implementation[name] = reportingHandler(
      method.responseStream
        ? adaptStreaming(bound, statusOf, method.requestStream)
        : adaptUnary(bound, statusOf),
    );
  }
  return implementation;
}

/** The status a handler's error ends its call with (see toStatusError), told to `onInternalError`. */
type StatusOf = (error: unknown) => StatusError & { message: string };

function adaptUnary(handler: AnyAsyncHandler, statusOf: StatusOf): UntypedHandleCall {
  return (
    call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
    callback: sendUnaryData<unknown>,
  ) => {
    const [result, settle] = runReported(handler, call);
    result.then(
      (response) => {
        // Before the callback: grpc-js may end the call inside it (a response it cannot send). A call
        // cut off already never sends the response, and the audit event's `resp.` target id is read
        // from it: only then does the settlement carry it (an answered call allocates nothing).
        settle(isCancelled(call) ? { code: Status.OK, details: "", response } : SETTLED_OK);
        callback(null, response);
      },
      (error: unknown) => {
        const status = isCutOff(call, error) ? CUT_OFF : statusOf(error);
        settle(status);
        callback(status);
      },
    );
  };
}

function adaptStreaming(handler: AnyAsyncHandler, statusOf: StatusOf, duplex: boolean): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
    if (duplex) iterateWithoutDestroying(call as ServerDuplexStream<unknown, unknown>);
    failWaitingWriteOnClose(call);
    const [result, settle] = runReported(handler, call);
    result.then(
      () => {
        settle(SETTLED_OK);
        if (!call.writableEnded) call.end();
      },
      (error: unknown) => {
        const status = isCutOff(call, error) ? CUT_OFF : statusOf(error);
        settle(status);
        call.emit("error", status);
      },
    );
  };
}

/**
 * Makes `for await (… of call)` leave a duplex call open when the loop ends, read to the end or left
 * early: Node's default iterator destroys the whole stream, its writable side too, and the call's
 * status could then never be sent. A client-streaming call needs none: its status goes by callback.
 */
function iterateWithoutDestroying(call: ServerDuplexStream<unknown, unknown>): void {
  call[Symbol.asyncIterator] = () => call.iterator({ destroyOnReturn: false });
}

type WriteCallback = (error?: Error | null) => void;

/**
 * Makes the write still waiting when the call's stream closes fail (Node then fails the writes queued
 * behind it, as a destroyed stream does): grpc-js never calls back a write whose message it refused
 * itself (larger than `grpc.max_send_message_length`, or one its serializer throws on: it sends
 * RESOURCE_EXHAUSTED or INTERNAL instead) or that a cancel or deadline cut off, and a handler awaiting
 * that callback would never settle. Node hands `_write` one message at a time (grpc-js has no
 * `_writev`), so at most one callback per call waits; the cost is a function call per write.
 */
function failWaitingWriteOnClose(call: Writable): void {
  const write: unknown = call._write;
  // Set already: an adapted handler given another's call (or not grpc-js's stream).
  if (Object.hasOwn(call, "_write") || typeof write !== "function") return;
  let waiting: WriteCallback | undefined;
  const written: WriteCallback = (error) => {
    const callback = waiting;
    waiting = undefined; // grpc-js calling back after the close is not a second callback
    callback?.(error);
  };
  call._write = function (this: Writable, chunk: unknown, encoding: BufferEncoding, callback: WriteCallback) {
    waiting = callback;
    write.call(this, chunk, encoding, written);
  };
  call.once("close", () => {
    if (waiting !== undefined) written(call.errored ?? streamDestroyed());
  });
}

/** The error Node gives a write on a destroyed stream (its ERR_STREAM_DESTROYED). */
function streamDestroyed(): Error {
  return Object.assign(new Error("Cannot call write after a stream was destroyed"), {
    code: "ERR_STREAM_DESTROYED",
  });
}

/** True when the call was cut off (a cancel, a deadline); false for a call whose flag cannot be read. */
function isCancelled(call: { cancelled: boolean }): boolean {
  try {
    return call.cancelled === true;
  } catch {
    return false; // a revoked Proxy given by a caller of the adapted handler
  }
}

/**
 * True when a handler threw because grpc-js cut off the call's stream under it: a cancel or deadline
 * destroys the stream, and `for await` over the requests, or a `pipeline` into the call, throws
 * "Premature close"; a write then waiting, or made later, fails with ERR_STREAM_DESTROYED (also when
 * grpc-js refused the message itself and ended the call). Not an error of the handler's own: no
 * `onInternalError`, and its audit event says it stopped part way.
 */
function isCutOff(call: { cancelled: boolean }, error: unknown): boolean {
  try {
    if (!call.cancelled || typeof error !== "object" || error === null) return false;
    const { code } = error as { code?: unknown };
    return code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ERR_STREAM_DESTROYED";
  } catch {
    return false; // a revoked Proxy: any other error
  }
}

/**
 * The status an error thrown by a handler ends the call with: its own for a gRPC status thrown on
 * purpose, else INTERNAL "internal error" — also for another service's error that a handler awaiting
 * a grpc-js client call let through, whose details and trailers describe that service's insides.
 * @internal
 */
export function toStatusError(error: unknown): StatusError & { message: string } {
  return thrownStatus(error) ?? internalStatus();
}

/** The gRPC status `error` was thrown as on purpose, or undefined (it ends the call INTERNAL). */
function thrownStatus(error: unknown): (StatusError & { message: string }) | undefined {
  try {
    if (typeof error === "object" && error !== null) {
      const { code, details, message, metadata } = error as Partial<StatusError>;
      if (
        typeof code === "number" &&
        Number.isInteger(code) &&
        code > Status.OK &&
        code <= Status.UNAUTHENTICATED &&
        isStatusByIntent(error, details, metadata) &&
        !isClientCallError(message, code, details)
      ) {
        const text = sendableDetails(
          typeof details === "string" ? details : typeof message === "string" ? message : "",
        );
        return metadata instanceof Metadata
          ? { code, details: text, message: text, metadata }
          : { code, details: text, message: text };
      }
    }
  } catch {
    // A value whose fields cannot be read (a revoked Proxy, a throwing getter) is any other error.
  }
  return undefined;
}

function internalStatus(): StatusError & { message: string } {
  return { code: Status.INTERNAL, details: INTERNAL_ERROR_MESSAGE, message: INTERNAL_ERROR_MESSAGE };
}

/**
 * True for a status thrown on purpose: a plain object (`{ code, details }`), a plain `Error` given a
 * `code` (`Object.assign(new Error("denied"), { code: status.PERMISSION_DENIED })`, as grpc-js's
 * callback takes it), or any error that also carries a `details` text or grpc-js `Metadata` (nice-grpc's
 * `ServerError`). An error of another class with only a numeric `code` is
 * a library's own (a database driver's `MongoServerError` has codes 1 to 16 too), and its message may
 * name hosts, users or secrets.
 */
function isStatusByIntent(error: object, details: unknown, metadata: unknown): boolean {
  const prototype: unknown = Object.getPrototypeOf(error);
  if (prototype === Object.prototype || prototype === null || prototype === Error.prototype) return true;
  return typeof details === "string" || metadata instanceof Metadata;
}

/**
 * True for the error of a grpc-js client call (its message is `<code> <NAME>: <details>`, as grpc-js's
 * callErrorFromStatus writes it): another service's status, thrown on by a handler that did not catch
 * it, not one it chose to send. Its details ("connect ECONNREFUSED 10.1.2.3:5432", a database's lock
 * holder) and trailers are that service's.
 */
function isClientCallError(message: unknown, code: number, details: unknown): boolean {
  return typeof details === "string" && message === `${code} ${Status[code]}: ${details}`;
}
