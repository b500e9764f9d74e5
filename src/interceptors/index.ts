/**
 * Every grpc-js server interceptor of grpc-audit: the audit scope (outermost), authn, authz, the rules
 * interceptor that records resource mutations when a call ends, and the factory returning them in
 * order. Interceptors gather facts about calls; the Recorder turns them into events.
 */
export { type AuditInterceptorsOptions, createAuditInterceptors } from "./audit-interceptors.js";
export type { AuthnInterceptorOptions } from "./authn-interceptor.js";
export type { AuthzInterceptorOptions } from "./authz-interceptor.js";
export type { RulesInterceptorOptions } from "./rules-interceptor.js";
