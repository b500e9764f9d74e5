import { status as Status } from "@grpc/grpc-js";

/**
 * Status messages of authz refusals: fixed, so nothing about the object or the engine leaks.
 */
export const AUTHZ_MESSAGES = {
  noRule: "permission denied: no authorization rule",
  anonymous: "unauthenticated: authorization needs a caller",
  unresolved: "invalid argument: object id missing",
  invalidObject: "invalid argument: object id not valid",
  invalidSubject: "invalid argument: caller id not valid",
  denied: "permission denied",
  timeout: "authorization timed out",
  unavailable: "authorization unavailable",
  mismatch: "internal error: the authorization rule does not fit the method",
} as const;

/** How a refused call ends. */
export interface Refusal {
  code: Status;
  details: string;
}

/** The authorizer failed or its answer is unknown. */
export const UNAVAILABLE_REFUSAL: Refusal = { code: Status.UNAVAILABLE, details: AUTHZ_MESSAGES.unavailable };
/** The authorizer denied the call. */
export const DENIED_REFUSAL: Refusal = { code: Status.PERMISSION_DENIED, details: AUTHZ_MESSAGES.denied };
