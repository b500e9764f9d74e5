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

/** A `record*` call got input it cannot turn into an event. Reported through `onError`, never thrown. */
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

/** Turns anything thrown into an Error, without reading more than its name and message. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === "string" ? thrown : "non-Error value thrown");
}
