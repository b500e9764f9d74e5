/**
 * grpc-js server interceptors: the audit scope (outermost), the rules interceptor that records
 * resource mutations when a call ends, the factory returning them in order, and an adapter for async
 * handlers. Interceptors gather facts about calls; the Recorder turns them into events.
 */

export {
  type AsyncHandler,
  asyncService,
  INTERNAL_ERROR_MESSAGE,
  type StatusError,
  toStatusError,
} from "./async-service.js";
export { type AuditInterceptorsOptions, createAuditInterceptors } from "./audit-interceptors.js";
export { createAuditScopeInterceptor } from "./audit-scope-interceptor.js";
export {
  AUDIT_UNAVAILABLE_MESSAGE,
  createRulesInterceptor,
  type RulesInterceptorOptions,
} from "./rules-interceptor.js";
