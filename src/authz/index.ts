/**
 * Authorization: may this caller do this to that object. The Authorizer interface and its Decision
 * union, what the authz layer reports to observers (the Recorder's input shape, `AuthzDecisionInput`),
 * credential-free error codes, and which ids OpenFGA accepts. It holds no rules
 * (rules/), no interceptor (interceptors/), records no events (the Recorder's `authzObserver()` does)
 * and holds no OpenFGA client code (that is `grpc-audit/openfga`).
 */
export type { AuthzOutcome } from "../event/builders.js";
export type { Authorizer, CheckOptions, CheckRequest, Decision } from "./authorizer.js";
export { errorCode } from "./error-code.js";
export type { AuthzDecisionInput, AuthzObserver } from "./observer.js";
