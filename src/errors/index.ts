/**
 * Errors thrown or reported by grpc-audit. Configuration mistakes throw at construction
 * (`AuditConfigError`); everything that goes wrong while recording is reported through `onError` hooks
 * and counters, never thrown into an RPC.
 */

/** Base class of every error grpc-audit creates. */
export class AuditError extends Error {
  /** The class name, "AuditError", as `String(error)` and logs show it. */
  override name = "AuditError";
}

/** An option is missing, unknown or invalid. Thrown at construction, naming the option. */
export class AuditConfigError extends AuditError {
  /** The class name, "AuditConfigError", as `String(error)` and logs show it. */
  override name = "AuditConfigError";
}

/**
 * A `record*` call got input it cannot turn into an event (reported through `onError`, never thrown),
 * or a function got an argument it cannot use, such as a value that is not an event (thrown).
 */
export class AuditInputError extends AuditError {
  /** The class name, "AuditInputError", as `String(error)` and logs show it. */
  override name = "AuditInputError";
}

/** A sink failed to take or write events. Reported through `onError`; `cause` holds the sink's error. */
export class AuditEmitError extends AuditError {
  /** The class name, "AuditEmitError", as `String(error)` and logs show it. */
  override name = "AuditEmitError";
  /** Name of the emitter that failed. */
  readonly emitter: string;

  constructor(emitter: string, message: string, options?: { cause?: unknown }) {
    super(`${emitter}: ${message}`, options);
    this.emitter = emitter;
  }
}

/**
 * A sink can never take some events of a batch: the broker refused their messages as too large (its
 * own limit, or the server's, which can be below the one the sink was given). `eventIds` names them.
 * The delivery pipeline drops those events, counts them as "too_large" and writes the rest of the
 * batch, instead of retrying it for ever. A sink or broker adapter of yours throws it the same way.
 */
export class AuditEventTooLargeError extends AuditEmitError {
  /** The class name, "AuditEventTooLargeError", as `String(error)` and logs show it. */
  override name = "AuditEventTooLargeError";
  /** Ids of the events that can never be sent (at least one). */
  readonly eventIds: readonly string[];

  constructor(emitter: string, message: string, options: { eventIds: readonly string[]; cause?: unknown }) {
    super(emitter, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.eventIds = Object.freeze([...options.eventIds]);
  }
}

/**
 * A sink can never take some events of a batch, for a reason other than their size: a store holds
 * another event under one's id, or the id holds a character the database cannot store. `eventIds`
 * names them. The delivery pipeline drops those events, counts them as "refused" and writes the rest
 * of the batch, instead of retrying it for ever; unlike an AuditEventTooLargeError, it teaches `emit`
 * no size limit. A sink or broker adapter of yours rejects with it the same way (say why in the
 * message; keep event contents and credentials out of it).
 */
export class AuditEventRefusedError extends AuditEmitError {
  /** The class name, "AuditEventRefusedError", as `String(error)` and logs show it. */
  override name = "AuditEventRefusedError";
  /** Ids of the events that can never be written (at least one). */
  readonly eventIds: readonly string[];

  constructor(emitter: string, message: string, options: { eventIds: readonly string[]; cause?: unknown }) {
    super(emitter, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.eventIds = Object.freeze([...options.eventIds]);
  }
}

/**
 * A sink took part of a batch and failed on the rest: the broker acknowledged some messages, then
 * refused or lost the others (a stream full with discard-new, a connection lost midway).
 * `deliveredEventIds` names the events it durably took. The delivery pipeline counts those as
 * delivered, once, and retries only the rest, so that its counts match what the sink holds. A sink or
 * broker adapter of yours rejects with it the same way.
 */
export class AuditPartialDeliveryError extends AuditEmitError {
  /** The class name, "AuditPartialDeliveryError", as `String(error)` and logs show it. */
  override name = "AuditPartialDeliveryError";
  /** Ids of the events of the batch the sink took (at least one). */
  readonly deliveredEventIds: readonly string[];

  constructor(
    emitter: string,
    message: string,
    options: { deliveredEventIds: readonly string[]; cause?: unknown },
  ) {
    super(emitter, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.deliveredEventIds = Object.freeze([...options.deliveredEventIds]);
  }
}

/**
 * Turns anything thrown into an Error, without reading more than its name and message. Never throws:
 * the Recorder calls it on the RPC path.
 */
export function toError(thrown: unknown): Error {
  try {
    if (thrown instanceof Error) return thrown;
  } catch {
    // A revoked Proxy, or one whose getPrototypeOf trap throws: nothing of it can be read.
    return new Error("an unreadable value was thrown");
  }
  return new Error(typeof thrown === "string" ? thrown : "non-Error value thrown");
}
