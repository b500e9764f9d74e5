/**
 * Every grpc-js server interceptor of grpc-audit: the audit scope (outermost), authn, authz, the rules
 * interceptor that records resource mutations when a call ends, and the factory returning them in
 * order. Interceptors gather facts about calls; the Recorder turns them into events.
 */ export { type AuditInterceptorsOptions, createAuditInterceptors } from "./audit-interceptors.js";
export { createAuditScopeInterceptor } from "./audit-scope-interceptor.js";
export { type AuthnInterceptorOptions, createAuthnInterceptor } from "./authn-interceptor.js";
export { AUTHZ_MESSAGES, type AuthzInterceptorOptions, createAuthzInterceptor } from "./authz-interceptor.js";
export {
  AUDIT_UNAVAILABLE_MESSAGE,
  createRulesInterceptor,
  type RulesInterceptorOptions,
} from "./rules-interceptor.js";
