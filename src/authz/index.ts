/**
 * Authorization: may this caller do this to that object. The Authorizer interface and its Decision
 * union, the generated authz rule type, and what the authz layer reports to observers. It does not
 * record events itself (the Recorder's `authzObserver()` bridges them) and holds no OpenFGA code
 * (that is `grpc-audit/openfga`).
 */
export type { AuthzOutcome } from "../event/builders.js";
export type { Authorizer, CheckOptions, CheckRequest, Decision } from "./authorizer.js";
export { AUTHZ_MESSAGES, type AuthzInterceptorOptions, createAuthzInterceptor } from "./authz-interceptor.js";
export type { AuthzCheck, AuthzObserver } from "./observer.js";
export type { AuthzRule, AuthzRuleTable } from "./rule.js";
export { mergeAuthzRuleTables } from "./rule-table.js";
